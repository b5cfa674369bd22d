# Sourced by the send benchmarks: starts Postfix's smtp-sink on a free loopback port (installing postfix when
# missing; no Postfix daemon), sets PORT and SINK_PID, and waits until it answers. The caller kills SINK_PID.
if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
# -c: count only; -u: run as this user; backlog 100; 8BITMIME and SIZE are advertised by default
"$SINK" -c -u "$(id -un)" "127.0.0.1:$PORT" 100 >/dev/null 2>&1 &
SINK_PID=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
