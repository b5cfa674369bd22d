#!/usr/bin/env bash
# Outbox store benchmark: the PostgreSQL outbox (cluster mode) against the file outbox (single node), one Mail
# Sender, 1,000 + 1,000 messages of 4 KiB per store (override: COUNT=...), sent to Postfix's smtp-sink on loopback.
# Starts a private PostgreSQL (Debian's server binaries, fsync on) on a free port; installs postfix (for smtp-sink)
# when missing and runs smtp-sink directly, no Postfix daemon. Builds in the reactor, installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)

COUNT=${COUNT:-1000}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$SINK" -c -u "$(id -un)" "127.0.0.1:$PORT" 100 >/dev/null 2>&1 &
SINK_PID=$!
trap 'kill $SINK_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

mvn -B -q -pl bundles/mail -am -DskipTests -DobrRepository=NONE test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
java -cp "bundles/mail/target/test-classes:bundles/mail/target/classes:$(cat bundles/mail/target/bench-classpath.txt)" \
  io.uplink.mail.internal.send.OutboxStoreBenchmark "$PORT" "$COUNT"
