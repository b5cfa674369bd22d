#!/usr/bin/env bash
# Heap benchmark: the distribution's heap after one firing that sends N and collects N messages of 4 KiB
# (default 10,000), against its idle heap. The distribution (built here) runs with the demo off and every
# port free-chosen; its connection 'bench' sends to Postfix's smtp-sink and collects (POP3, delete after
# store) from Debian's Dovecot, both on loopback. The heap is read with jcmd after two full GCs.
#   bench/heap-benchmark.sh [messages, default 10000]
set -euo pipefail
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/dovecot.sh
. bench/distribution.sh

D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-heap-bench.XXXXXX")
dovecot_prepare "$D" bench
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
[ -x "$SINK" ] || { echo "smtp-sink is missing: run bench/send-benchmark.sh once (it installs it)" >&2; exit 2; }

distribution_unpack "$D"
mvn -B -o -q -pl bundles/mail test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

SMTP=$(free_port)
cat > "$K"/etc/io.uplink.connection-bench.cfg <<CFG
name = Heap benchmark
method = network
default = false
sender = bench
CFG
cat > "$K"/etc/io.uplink.sender-bench.cfg <<CFG
hosts = 127.0.0.1:$SMTP
security = none
CFG
cat > "$K"/etc/io.uplink.collector-bench.cfg <<CFG
connections = bench
protocol = pop3
host = 127.0.0.1
port = $POP3
security = none
username = bench
password = bench
leaveOnServer.days = 0
deliverTo = bench
CFG

java -cp "$CP" io.uplink.mail.internal.HeapBenchmarkFill "$K/data" "$D/home/bench/Maildir" "$N"
chown -R "$MAILUID:$MAILGID" "$D/home"
dovecot_start "$D"
"$SINK" -c -u "$(id -un)" "127.0.0.1:$SMTP" 100 >/dev/null 2>&1 &
SINK_PID=$!
cleanup() {
  "$K"/bin/stop >/dev/null 2>&1 || true
  kill "$SINK_PID" 2>/dev/null || true
  dovecot_stop "$D"
}
trap cleanup EXIT

"$K"/bin/start
for _ in $(seq 120); do
  if "$K"/bin/uplink connection:list </dev/null 2>/dev/null | grep -q bench; then break; fi
  sleep 1
done
"$K"/bin/uplink connection:list </dev/null
PID=$(cat "$K"/karaf.pid)

# used heap after two full collections, in KiB
used_heap() {
  jcmd "$PID" GC.run >/dev/null
  jcmd "$PID" GC.run >/dev/null
  jcmd "$PID" GC.heap_info | sed -n 's/.*heap *total [0-9]*K, used \([0-9]*\)K.*/\1/p' | head -n 1
}
IDLE=$(used_heap)
echo "idle heap: $((IDLE / 1024)) MiB used"
T0=$(date +%s.%N)
"$K"/bin/uplink connection:fire --wait bench </dev/null
T1=$(date +%s.%N)
AFTER=$(used_heap)
COLLECTED=$(find "$K/data/uplink/mailboxes/bench/new" -type f | wc -l)
echo "firing: $N queued to send, $N to collect; $COLLECTED collected; $(echo "$T1 - $T0" | bc) s"
echo "heap after the firing: $((AFTER / 1024)) MiB used; difference $(((AFTER - IDLE) / 1024)) MiB (target: within 20 MB)"
echo "(run directory: $D)"
