#!/usr/bin/env bash
# Configuration scale benchmark: N connections and N collectors (default 1,000 each) dropped into etc/ of the
# built distribution at once. It reports how long until every item is live, the idle heap after full GCs
# against the empty distribution's, how long connection:list takes, and how long one edited item takes to
# be live again while the other 2N-1 stay untouched. No mail server is needed: the collectors never fire.
#   bench/config-scale-benchmark.sh [N, default 1000]
set -euo pipefail
N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/distribution.sh

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000 / 1" | bc; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-config-bench.XXXXXX")
distribution_unpack "$D"
echo "maxConnections = $((N + 100))" >> "$K"/etc/io.uplink.core.cfg
cleanup() { "$K"/bin/stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

U() { "$K"/bin/uplink "$@" </dev/null 2>/dev/null; }
"$K"/bin/start
for _ in $(seq 120); do
  if U connection:list | grep -q '^Id'; then break; fi
  sleep 1
done
PID=$(cat "$K"/karaf.pid)
used_heap() {
  jcmd "$PID" GC.run >/dev/null
  jcmd "$PID" GC.run >/dev/null
  jcmd "$PID" GC.heap_info | sed -n 's/.*heap *total [0-9]*K, used \([0-9]*\)K.*/\1/p' | head -n 1
}
sleep 5
EMPTY=$(used_heap)
echo "empty distribution: heap $((EMPTY / 1024)) MiB used after full GC"

S="$D/staging"
mkdir -p "$S"
for i in $(seq 1 "$N"); do
  printf 'name = Scale %s\nmethod = network\n' "$i" > "$S/io.uplink.connection-scale-c$i.cfg"
  printf 'connections = scale-c%s\nprotocol = pop3\nhost = 127.0.0.1\nport = 1\nusername = u%s\npassword = secret\ndeliverTo = u%s\n' \
    "$i" "$i" "$i" > "$S/io.uplink.collector-scale-k$i.cfg"
done
LOG="$K/data/log/karaf.log"
CONN_LINE="connection 'scale-c[0-9]*' (.*) configured from"
COLL_LINE="collector 'scale-k[0-9]*' configured:"
T0=$(now)
mv "$S"/*.cfg "$K"/etc/
# polled in the log (the shell's listings would load the machine they measure); each line is written the moment
# its item is live: a connection checked and settled by the engine, a collector activated
while true; do
  C=$(grep -c "$CONN_LINE" "$LOG" || true)
  K2=$(grep -c "$COLL_LINE" "$LOG" || true)
  [ "$C" -ge "$N" ] && [ "$K2" -ge "$N" ] && break
  [ "$(ms "$T0" "$(now)")" -gt 300000 ] && { echo "not all live after 300 s: $C connections, $K2 collectors" >&2; exit 1; }
  sleep 0.5
done
LAST=$(grep -h -e "$CONN_LINE" -e "$COLL_LINE" "$LOG" | tail -n 1 | cut -c1-23 | tr 'T,' ' .')
T1=$(date -d "$LAST" +%s.%N)
# and the shell agrees: every connection IDLE, every collector READY
C=$(U connection:list | grep -c '^scale-c[0-9]* .*| IDLE ' || true)
K2=$(U collector:list | grep -c '^scale-k[0-9]* .*| READY ' || true)
[ "$C" -ge "$N" ] && [ "$K2" -ge "$N" ] || { echo "the log says all live, the shell shows $C connections IDLE, $K2 collectors READY" >&2; exit 1; }
LOADTIME=$(ms "$T0" "$T1")
echo "$((2 * N)) items dropped at once: all live after $LOADTIME ms"
sleep 5
FULL=$(used_heap)
HEAPUP=$(((FULL - EMPTY) / 1024))
echo "idle with $N connections + $N collectors: heap $((FULL / 1024)) MiB used; $HEAPUP MiB above the empty distribution (target: at most 60 MiB)"

# connection:list: the ssh round trip of the command against that of a command that prints nothing
best() { sort -n | head -n 1; }
LIST=$(for _ in 1 2 3 4 5; do a=$(now); U connection:list >/dev/null; b=$(now); ms "$a" "$b"; done | best)
NOOP=$(for _ in 1 2 3 4 5; do a=$(now); U "echo" >/dev/null; b=$(now); ms "$a" "$b"; done | best)
echo "connection:list over ssh: best $LIST ms; an empty command: best $NOOP ms; the listing itself about $((LIST - NOOP)) ms (target: at most 200 ms)"
EDITS=""

# one item edited: how long until its new name is live (polled through the shell)
for round in 1 2 3; do
  T2=$(now)
  printf 'name = Renamed %s\nmethod = network\n' "$round" > "$K/etc/.io.uplink.connection-scale-c1.cfg.tmp"
  mv "$K/etc/.io.uplink.connection-scale-c1.cfg.tmp" "$K/etc/io.uplink.connection-scale-c1.cfg"
  until U connection:status scale-c1 | grep -q "Renamed $round"; do
    [ "$(ms "$T2" "$(now)")" -gt 60000 ] && { echo "the edit did not become live within 60 s" >&2; exit 1; }
    sleep 0.1
  done
  E=$(ms "$T2" "$(now)")
  EDITS="$EDITS${EDITS:+ / }$E"
  echo "edit of one item among $((2 * N)): live after $E ms (round $round; target: at most 2 s)"
done
echo
echo "== configuration scale: $N connections + $N collectors =="
echo "all $((2 * N)) items live after the drop:      $LOADTIME ms"
echo "idle heap above the empty distribution:  $HEAPUP MiB (empty $((EMPTY / 1024)) MiB; target at most 60 MiB)"
echo "connection:list inside the shell:        about $((LIST - NOOP)) ms ($LIST ms over ssh, $NOOP ms empty command; target at most 200 ms)"
echo "one edited item live again:              $EDITS ms (target at most 2 s)"
echo "load average (1/5/15 min):               $LOAD0 -> $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(run directory: $D)"
