#!/usr/bin/env bash
# Send benchmark: Uplink's Mail Sender vs a raw lock-step SMTP client, both against Postfix's smtp-sink
# on loopback, 2,000 messages of 4 KiB (override: COUNT=...), 3 rounds (ROUNDS=...), median ratio. Installs postfix (for smtp-sink) when missing;
# runs smtp-sink directly, no Postfix daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-2000}
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
. bench/smtp-sink.sh
trap 'kill $SINK_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

mvn -B -q install -DskipTests -pl bundles/api
mvn -B -q test-compile exec:java -pl bundles/mail -Dexec.classpathScope=test \
  -Dexec.mainClass=io.uplink.mail.internal.send.SendBenchmark -Dexec.args="$PORT $COUNT $WORK $ROUNDS"
