#!/usr/bin/env bash
# Many-mailboxes benchmark: A POP3 accounts on Debian's Dovecot (loopback, free ports), each holding M
# messages of 4 KiB, collected by the built distribution (demo off, free ports) through C connections of
# A/C collectors each (POP3, deliverTo one mailbox per account, delete after store), all fired together.
# In the same run a raw pipelined POP3 client that writes nothing (bench/many-mailboxes.py) collects the
# same accounts first; then they are refilled for Uplink. Reports msgs/s of both, whether everything was
# delivered exactly once (M files per mailbox, every Message-ID once, the server empty), the peak number of
# POP3 sessions open at once against Dovecot, the JVM's CPU time per message and the load average.
#   bench/many-mailboxes-benchmark.sh [A, default 1000] [M, default 10] [C, default 100]
# Environment (optional): A, M, C as above; PARALLEL sets collectors.parallel (etc/io.uplink.core.cfg),
# PER_HOST sets maxSessionsPerHost (etc/io.uplink.mail.cfg), RAW_PARALLEL the raw client's sessions at
# once (default 16). Unset, the distribution's defaults apply. PERF=FILE records the Karaf JVM with
# `perf record -g` (kernel and JVM stacks) during the firing into FILE; EXTRA_JAVA_OPTS passes JVM options
# (for example a JFR recording) to Karaf. AGAIN=N refills the accounts and fires N more times in the same
# JVM (warm: compiled code, mailboxes and ledgers there), and reports each firing's rate and CPU too (the
# fresh JVM's compiler is still busy in the second firing: AGAIN=3 comes closer to a gateway that has run
# for a while). THREADS=1 also reports each firing's JVM CPU by thread (the collectors, the JIT compilers, ...).
# DOVECOT_SETTINGS (bench/dovecot.sh) replaces the Dovecot settings this benchmark adds (below); empty: none.
set -euo pipefail
A=${1:-${A:-1000}}
M=${2:-${M:-10}}
C=${3:-${C:-100}}
RAW_PARALLEL=${RAW_PARALLEL:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/dovecot.sh
. bench/distribution.sh
PY="$ROOT/bench/many-mailboxes.py"
[ "$C" -ge 1 ] && [ "$C" -le "$A" ] || { echo "C (connections) must be between 1 and A (accounts): A=$A C=$C" >&2; exit 2; }

now() { date +%s.%N; }
# THREADS=1: each thread's name (as the kernel keeps it: 15 characters; spaces and a trailing number dropped,
# so a pool's threads add up), utime and stime in clock ticks
thread_cpu() {
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(tr -d ' ' < "$t/comm" | sed 's/[0-9]*$//')" "$(cut -d')' -f2 "$t/stat" | awk '{ print $12, $13 }')" 2>/dev/null || true
  done
}
# the CPU the JVM's threads spent between two thread_cpu listings, by name, largest first (a thread that ended
# in between is missed)
thread_cpu_report() {
  python3 - "$1" "$2" "$3" "$(getconf CLK_TCK)" <<'PYEOF'
import sys, collections
def load(p):
    t = collections.Counter(); s = collections.Counter()
    for line in open(p):
        parts = line.split()
        if len(parts) == 3:
            t[parts[0]] += int(parts[1]); s[parts[0]] += int(parts[2])
    return t, s
u0, s0 = load(sys.argv[1]); u1, s1 = load(sys.argv[2]); hz = int(sys.argv[4])
rows = sorted(((u1[k] - u0[k] + s1[k] - s0[k], u1[k] - u0[k], s1[k] - s0[k], k) for k in u1), reverse=True)
print(sys.argv[3] + " JVM threads by CPU (user + system s): " + "; ".join(
    "%s %.2f (%.2f + %.2f)" % (k, t / hz, u / hz, s / hz) for t, u, s, k in rows[:10] if t > 0))
PYEOF
}
# utime + stime of a process, in seconds
cpu() { awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }

D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-many-bench.XXXXXX")
USERS=$(python3 -c "import sys; print(' '.join('u%04d' % i for i in range(1, $A + 1)))")
# Dovecot's high-performance login mode (login and POP3 processes serve one session after another instead of
# one process started per login), as a provider with a thousand mailboxes runs it: with Dovecot's defaults its
# process start per login caps even the raw client at about 900 msgs/s. DOVECOT_SETTINGS= (empty) keeps the
# defaults.
FAST_LOGIN='service pop3-login {
  service_count = 0
  process_min_avail = 2
}
service pop3 {
  service_count = 0
  process_min_avail = 4
}'
export DOVECOT_SETTINGS="${DOVECOT_SETTINGS-$FAST_LOGIN}"
# shellcheck disable=SC2086
DOVECOT_SESSIONS=$((A + 50)) dovecot_prepare "$D" $USERS
export DOVECOT_SESSIONS=$((A + 50))

distribution_unpack "$D"
sed -i "s/^maxConnections *=.*/maxConnections = $((C + 10))/" "$K"/etc/io.uplink.core.cfg
if [ -n "${PARALLEL:-}" ]; then sed -i "s/^collectors.parallel *=.*/collectors.parallel = $PARALLEL/" "$K"/etc/io.uplink.core.cfg; fi
if [ -n "${PER_HOST:-}" ]; then echo "maxSessionsPerHost = $PER_HOST" >> "$K"/etc/io.uplink.mail.cfg; fi
IDS=()
for c in $(seq 1 "$C"); do
  id=$(printf 'c%03d' "$c")
  IDS+=("$id")
  printf 'name = Many mailboxes %s\nmethod = network\ndefault = false\n' "$c" > "$K/etc/io.uplink.connection-$id.cfg"
done
# account n belongs to connection ((n - 1) mod C) + 1: A/C collectors each
for n in $(seq 1 "$A"); do
  u=$(printf 'u%04d' "$n")
  printf 'connections = %s\nprotocol = pop3\nhost = 127.0.0.1\nport = %s\nsecurity = none\nusername = %s\npassword = bench\nleaveOnServer.days = 0\ndeliverTo = %s\n' \
    "$(printf 'c%03d' $(((n - 1) % C + 1)))" "$POP3" "$u" "$u" > "$K/etc/io.uplink.collector-$u.cfg"
done

cleanup() {
  rm -f "$D/sampling"
  "$K"/bin/stop >/dev/null 2>&1 || true
  dovecot_stop "$D"
}
trap cleanup EXIT
chown -R "$MAILUID:$MAILGID" "$D/home"
dovecot_start "$D"
echo "accounts $A x $M messages of 4 KiB; $C connections of about $((A / C)) collectors each;" \
  "collectors.parallel=${PARALLEL:-default} maxSessionsPerHost=${PER_HOST:-default}; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. the raw reference
python3 "$PY" fill "$D/home" "$A" "$M" raw "$MAILUID" "$MAILGID"
touch "$D/sampling"
sample_sessions "$D/sampling" &
SAMPLER=$!
python3 "$PY" raw "$POP3" "$A" "$RAW_PARALLEL"
rm -f "$D/sampling"
wait "$SAMPLER"
echo "raw client: at most $(cat "$D/sampling.peak" 2>/dev/null || echo 0) POP3 sessions open at once (the client's ends: $(cat "$D/sampling.clientpeak" 2>/dev/null || echo 0))"
LEFT=$(find "$D"/home/*/Maildir/new "$D"/home/*/Maildir/cur -type f | wc -l)
[ "$LEFT" -eq 0 ] || { echo "the raw client left $LEFT messages on the server" >&2; exit 1; }

# 2. Uplink on the same accounts, refilled
python3 "$PY" fill "$D/home" "$A" "$M" uplink "$MAILUID" "$MAILGID"
U() { "$K"/bin/uplink "$@" </dev/null 2>/dev/null; }
"$K"/bin/start
T0=$(now)
while true; do
  CN=$(U connection:list | grep -c '^c[0-9]* .*| IDLE ' || true)
  KN=$(U "config:list '(service.factoryPid=io.uplink.collector)'" | grep -c '^Pid:' || true)
  # the connections are live before Karaf's last boot stage is done: wait for both, or the first firing
  # shares the CPU with the features service's resolution (2-4 s of one core)
  [ "$CN" -ge "$C" ] && [ "$KN" -ge "$A" ] && distribution_booted && break
  [ "$(echo "$(now) - $T0 > 300" | bc)" = 1 ] && { echo "not all live after 300 s: $CN connections, $KN collectors" >&2; exit 1; }
  sleep 1
done
PID=$(cat "$K"/karaf.pid)
echo "distribution live with $C connections and $A collectors after $(echo "$(now) - $T0" | bc | cut -c1-5) s"

# fire_all LABEL ROUND: fires every connection at once, prints the rate, sessions and CPU; ROUND = how many
# fillings the local mailboxes must hold after it
fire_all() {
  touch "$D/sampling"
  rm -f "$D/sampling.peak" "$D/sampling.clientpeak"
  sample_sessions "$D/sampling" &
  SAMPLER=$!
  if [ -n "${PERF:-}" ]; then
    perf record -q -g -o "$PERF.$2" -p "$PID" >/dev/null 2>&1 &
    PERFPID=$!
  fi
  CPU0=$(cpu "$PID")
  [ -z "${THREADS:-}" ] || thread_cpu "$PID" > "$D/threads0"
  T1=$(now)
  local st=0
  "$K"/bin/uplink connection:fire --wait "${IDS[@]}" </dev/null > "$D/fire.out" 2>&1 || st=$?
  T2=$(now)
  CPU1=$(cpu "$PID")
  [ -z "${THREADS:-}" ] || { thread_cpu "$PID" > "$D/threads1"; thread_cpu_report "$D/threads0" "$D/threads1" "$1"; }
  if [ -n "${PERF:-}" ]; then kill -INT "$PERFPID"; wait "$PERFPID" || true; fi
  rm -f "$D/sampling"
  wait "$SAMPLER"
  [ "$st" -eq 0 ] || STATUS=$st
  SECS=$(echo "$T2 - $T1" | bc)
  N=$((A * M))
  echo "$1 firings: $(grep -Eo '^c[0-9]+ (OK|PARTIAL|FAILED) ' "$D/fire.out" | awk '{ print $2 }' | sort | uniq -c | tr '\n' ' ')(fire exit status $st)"
  grep -E '^c[0-9]+ (PARTIAL|FAILED) ' "$D/fire.out" | head -n 3 || true
  echo "$1 Uplink: $N messages in $(printf '%.2f' "$SECS") s (connection:fire --wait over ssh, all $C ids): $(echo "$N / $SECS" | bc) msgs/s"
  LONGEST=$(grep -Eo '^c[0-9]+ (OK|PARTIAL|FAILED) [0-9.]+s' "$D/fire.out" | awk '{ sub(/s$/, "", $3); print $3 }' | sort -n | tail -n 1)
  [ -z "$LONGEST" ] || echo "$1 Uplink: the longest firing took $LONGEST s by its own report (no ssh client start-up): $(echo "$N / $LONGEST" | bc) msgs/s"
  python3 "$PY" check "$D/home" "$K/data/uplink/mailboxes" "$A" "$((M * $2))" || STATUS=1
  echo "$1 Uplink: at most $(cat "$D/sampling.peak" 2>/dev/null || echo 0) POP3 sessions open at once against Dovecot" \
    "(its ends of them; Uplink's ends: at most $(cat "$D/sampling.clientpeak" 2>/dev/null || echo 0))"
  echo "$1 JVM CPU: $(printf '%.1f' "$(echo "$CPU1 - $CPU0" | bc)") s for $N messages: $(echo "scale=3; ($CPU1 - $CPU0) * 1000 / $N" | bc) ms per message"
}
STATUS=0
fire_all "" 1
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# AGAIN=N: N more firings on refilled accounts (AGAIN=1: the second); labelled "firing k (warm)"
for k in $(seq 2 $((1 + ${AGAIN:-0}))); do
  python3 "$PY" fill "$D/home" "$A" "$M" "uplink$k" "$MAILUID" "$MAILGID"
  fire_all "firing $k (warm):" "$k"
  LOAD="$LOAD; after firing $k: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "load average after the firing: $LOAD (2 cores: $(nproc))"
echo "(run directory: $D)"
exit "$STATUS"
