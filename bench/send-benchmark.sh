#!/usr/bin/env bash
# Send benchmark: Uplink's Mail Sender vs a raw lock-step SMTP client, both against Postfix's smtp-sink
# on loopback, 2,000 messages of 4 KiB (override: COUNT=...), 3 rounds (ROUNDS=...), median ratio. Installs postfix (for smtp-sink) when missing;
# runs smtp-sink directly, no Postfix daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)

COUNT=${COUNT:-2000}
ROUNDS=${ROUNDS:-3}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
WORK=$(mktemp -d)
# -c: count only; -u: run as this user; backlog 100; 8BITMIME and SIZE are advertised by default
"$SINK" -c -u "$(id -un)" "127.0.0.1:$PORT" 100 >/dev/null 2>&1 &
SINK_PID=$!
trap 'kill $SINK_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

mvn -B -q install -DskipTests -pl bundles/api
mvn -B -q test-compile exec:java -pl bundles/mail -Dexec.classpathScope=test \
  -Dexec.mainClass=io.uplink.mail.internal.send.SendBenchmark -Dexec.args="$PORT $COUNT $WORK $ROUNDS"
