#!/usr/bin/env bash
# Outbox store benchmark: the PostgreSQL outbox (cluster mode) against the file outbox (single node), one Mail
# Sender, 1,000 + 1,000 messages of 4 KiB per store (override: COUNT=...), sent to Postfix's smtp-sink on loopback.
# Starts a private PostgreSQL (Debian's server binaries, fsync on) on a free port; installs postfix (for smtp-sink)
# when missing and runs smtp-sink directly, no Postfix daemon. Builds in the reactor, installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000}
. bench/smtp-sink.sh
trap 'kill $SINK_PID 2>/dev/null || true' EXIT

mvn -B -q -pl bundles/mail -am -DskipTests -DobrRepository=NONE test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
java -cp "bundles/mail/target/test-classes:bundles/mail/target/classes:$(cat bundles/mail/target/bench-classpath.txt)" \
  io.uplink.mail.internal.send.OutboxStoreBenchmark "$PORT" "$COUNT"
