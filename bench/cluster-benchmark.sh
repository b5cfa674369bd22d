#!/usr/bin/env bash
# Cluster benchmark (issue 12): aggregate collect over many mailboxes with 1, 2 and 3 cluster nodes on this machine.
# A POP3 accounts on Debian's Dovecot (loopback, free ports), each refilled with M messages of 4 KiB before each
# round, collected through C connections of A/C collectors each (POP3, deliverTo one mailbox per account, delete
# after store), all fired together. The nodes are copies of the built distribution made by bin/uplink-cluster-node
# (free ports), sharing one private PostgreSQL (bin/uplink-cluster-postgres: fsync on), one items folder (the
# connections and collectors are dropped there once) and one Maildir root. Round N starts node N (nodes 1..N-1 keep
# running), waits until every running node has all items live, fires once untimed (one message per account: warm-up),
# refills the accounts with M messages each and fires every connection, timed:
# connection i is fired (connection:fire --wait) on node ((i - 1) mod N) + 1, the N calls at once; Quartz then runs
# each firing on whichever node takes its trigger. The round ends when every call returned (all mail delivered).
# Unless SINGLE=0, a round on the plain distribution (one node, no cluster: files, no database) comes first, the same
# way, with the items in its own etc/ and its own mailboxes; it is stopped before the cluster's rounds.
# Before the rounds a raw pipelined POP3 client that writes nothing (bench/many-mailboxes.py) collects the same
# accounts once: the reference of the same run.
# Per round it reports msgs/s, exactly-once (every message of the run in its mailbox's Maildir, every Message-ID
# once, the server empty), the firings each node ran (from the cluster's history, table uplink_firing), how long a
# firing waited from request to start (median, max) and ran on average, the peak of POP3 sessions open at once,
# the CPU time of the node JVMs and of PostgreSQL per message, and the load average before -> after.
#   bench/cluster-benchmark.sh [A, default 300] [M, default 10] [C, default 30]
# Environment (optional): A, M, C as above; NODES the largest cluster (default 3: rounds with 1, 2, 3 nodes);
# PARALLEL sets collectors.parallel, PER_HOST maxSessionsPerHost, THREADS the firings a node runs at once (threads
# of io.uplink.cluster.cfg, default 10; the pool then gets 2 x THREADS + 4 sessions); RAW_PARALLEL the raw client's sessions at once (default 16); WARMUP=0 skips
# the untimed warm-up firing (one message per account) that each round runs before the timed one; SINGLE=0 skips the
# round without a cluster.
set -euo pipefail
A=${1:-${A:-300}}
M=${2:-${M:-10}}
C=${3:-${C:-30}}
NODES=${NODES:-3}
RAW_PARALLEL=${RAW_PARALLEL:-16}
WARMUP=${WARMUP:-1}
SINGLE=${SINGLE:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/dovecot.sh
. bench/distribution.sh
PY="$ROOT/bench/many-mailboxes.py"
[ "$C" -ge 1 ] && [ "$C" -le "$A" ] || { echo "C (connections) must be between 1 and A (accounts): A=$A C=$C" >&2; exit 2; }
[ "$NODES" -ge 1 ] && [ "$NODES" -le 9 ] || { echo "NODES must be between 1 and 9: $NODES" >&2; exit 2; }

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# utime + stime of the processes given, in seconds; a PostgreSQL server counts its ended children too (cutime, cstime)
cpu() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$(awk -v t="$(getconf CLK_TCK)" -v s="$t" '{ sub(/^.*\) /, ""); print s + ($12 + $13 + $14 + $15) / t }' "/proc/$p/stat")
  done
  echo "$t"
}
pg_pids() { local pm; pm=$(head -n 1 "$D/pg/data/postmaster.pid"); echo "$pm" $(pgrep -P "$pm" || true); }

D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-cluster-bench.XXXXXX")
USERS=$(python3 -c "import sys; print(' '.join('u%04d' % i for i in range(1, $A + 1)))")
export DOVECOT_SESSIONS=$((A + 50))
# shellcheck disable=SC2086
dovecot_prepare "$D" $USERS

distribution_unpack "$D"
sed -i "s/^maxConnections *=.*/maxConnections = $((C + 10))/" "$K"/etc/io.uplink.core.cfg
if [ -n "${PARALLEL:-}" ]; then sed -i "s/^collectors.parallel *=.*/collectors.parallel = $PARALLEL/" "$K"/etc/io.uplink.core.cfg; fi
if [ -n "${PER_HOST:-}" ]; then echo "maxSessionsPerHost = $PER_HOST" >> "$K"/etc/io.uplink.mail.cfg; fi
if [ -n "${THREADS:-}" ]; then
  # the pool as the samples say: about 2 x threads + 4 sessions (with fewer, firings wait for a session and fail)
  sed -i "s/^threads *=.*/threads = $THREADS/" "$K"/etc/io.uplink.cluster.cfg.sample
  sed -i "s/^hikari.maximumPoolSize *=.*/hikari.maximumPoolSize = $((2 * THREADS + 4))/" "$K"/etc/org.ops4j.datasource-uplink.cfg.sample
fi

# stop_karaf HOME: bin/stop, then SIGKILL if it still runs after 30 s
stop_karaf() {
  local p
  [ -f "$1/karaf.pid" ] || return 0
  p=$(cat "$1/karaf.pid")
  kill -0 "$p" 2>/dev/null || return 0
  "$1/bin/stop" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$p" 2>/dev/null || true
}
cleanup() {
  local h
  for h in "$K" "$D"/node*; do stop_karaf "$h"; done
  "$K"/bin/uplink-cluster-postgres stop "$D/pg" >/dev/null 2>&1 || true
  dovecot_stop "$D"
}
trap cleanup EXIT

# the private PostgreSQL (fsync on: PostgreSQL's default) and the nodes
PGPORT=$(free_port)
"$K"/bin/uplink-cluster-postgres start "$D/pg" "$PGPORT" >/dev/null
PSQL=(psql -h "$D/pg" -p "$PGPORT" -U postgres -d uplink -tAq)
[ "$("${PSQL[@]}" -c 'SHOW fsync')" = on ] || { echo "the benchmark's PostgreSQL runs without fsync" >&2; exit 1; }
SHARED="$D/shared/etc"
BOXES="$D/shared/mailboxes"
for n in $(seq 1 "$NODES"); do
  "$K"/bin/uplink-cluster-node --home "$D/node$n" --node-id "node$n" --shared-etc "$SHARED" --mailboxes "$BOXES" \
    --db-url "jdbc:postgresql://127.0.0.1:$PGPORT/uplink" --db-user postgres \
    --ssh-port "$(free_port)" --http-port "$(free_port)" --rmi-registry-port "$(free_port)" \
    --rmi-server-port "$(free_port)" --submission-port "$(free_port)" >/dev/null
done

# the items, dropped into the shared folder (each written aside, then renamed into place)
IDS=()
drop() { printf "$2" > "$SHARED/.$1.tmp"; mv "$SHARED/.$1.tmp" "$SHARED/io.uplink.$1.cfg"; }
for c in $(seq 1 "$C"); do
  id=$(printf 'c%03d' "$c")
  IDS+=("$id")
  drop "connection-$id" "name = Many mailboxes $c\nmethod = network\ndefault = false\n"
done
# account n belongs to connection ((n - 1) mod C) + 1: A/C collectors each
for n in $(seq 1 "$A"); do
  u=$(printf 'u%04d' "$n")
  drop "collector-$u" "connections = $(printf 'c%03d' $(((n - 1) % C + 1)))\nprotocol = pop3\nhost = 127.0.0.1\nport = $POP3\nsecurity = none\nusername = $u\npassword = bench\nleaveOnServer.days = 0\ndeliverTo = $u\n"
done

chown -R "$MAILUID:$MAILGID" "$D/home"
dovecot_start "$D"
LOAD0=$(load)
echo "accounts $A x $M messages of 4 KiB; $C connections of about $((A / C)) collectors each; nodes 1..$NODES;" \
  "collectors.parallel=${PARALLEL:-default} maxSessionsPerHost=${PER_HOST:-default} threads=${THREADS:-default};" \
  "load average at start: $LOAD0"

# 1. the raw reference
python3 "$PY" fill "$D/home" "$A" "$M" raw "$MAILUID" "$MAILGID"
RAWLOAD0=$(load)
RAW=$(python3 "$PY" raw "$POP3" "$A" "$RAW_PARALLEL")
RAWLOAD1=$(load)
echo "$RAW"
LEFT=$(find "$D"/home/*/Maildir/new "$D"/home/*/Maildir/cur -type f | wc -l)
[ "$LEFT" -eq 0 ] || { echo "the raw client left $LEFT messages on the server" >&2; exit 1; }

# 2. the rounds
U() { local h=$1; shift; "$h/bin/uplink" "$@" </dev/null 2>/dev/null; }
# await_live NODES HOME...: every home has all connections IDLE and all collectors configured and (NODES > 0, a
# cluster) sees NODES nodes alive
await_live() {
  local t0 h cn kn an want=$1
  shift
  t0=$(now)
  for h in "$@"; do
    while true; do
      an=0
      [ "$want" -eq 0 ] || an=$(U "$h" cluster:nodes | grep -cE '^\s*node[0-9]+( \(this node\))?\s*\|[^|]*\|\s*alive\s*\|' || true)
      cn=$(U "$h" connection:list | grep -c '^c[0-9]* .*| IDLE ' || true)
      kn=$(U "$h" "config:list '(service.factoryPid=io.uplink.collector)'" | grep -c '^Pid:' || true)
      [ "$an" -ge "$want" ] && [ "$cn" -ge "$C" ] && [ "$kn" -ge "$A" ] && break
      [ "$(echo "$(now) - $t0 > 300" | bc)" = 1 ] && {
        echo "$h: not all live after 300 s: $an nodes alive, $cn connections IDLE, $kn collectors" >&2; exit 1; }
      sleep 1
    done
  done
  echo "$# Karaf(s) live with $C connections and $A collectors after $(printf '%.1f' "$(echo "$(now) - $t0" | bc)") s"
}

# fire_spread TAG HOME...: connection i fired on home ((i - 1) mod count) + 1, one connection:fire --wait per home,
# all at once; returns when every call returned (the last non-zero exit status, if any). Output in
# $D/fire.TAG.<n>.out
fire_spread() {
  local tag=$1 n=0 i p st=0 pids=() mine h
  shift
  for h in "$@"; do
    n=$((n + 1))
    mine=()
    for i in $(seq "$n" "$#" "$C"); do mine+=("${IDS[$((i - 1))]}"); done
    timeout "${FIRE_TIMEOUT:-900}" "$h/bin/uplink" connection:fire --wait "${mine[@]}" </dev/null > "$D/fire.$tag.$n.out" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || st=$?; done
  return "$st"
}

STATUS=0
SUMMARY=()
# timed_round LABEL MAILBOXES CLUSTER HOME...: (warm-up), refill, fire every connection spread over the homes,
# check, and add the round's line to SUMMARY. CLUSTER=1: the figures from the cluster's history too. The local
# mailboxes must hold DONE_<MAILBOXES> messages each after it (counted here).
declare -A DONE
timed_round() {
  local label=$1 boxes=$2 cluster=$3 tag st=0 pids p jcpu0 jcpu1 pcpu0 pcpu1 l0 l1 since t1 t2 secs msgs rate outcomes
  local check once pernode="" delays="" line
  shift 3
  tag=${label// /}
  pids=$(for h in "$@"; do echo "$(cat "$h/karaf.pid")"; done) # (karaf.pid has no newline at its end)
  if [ "$WARMUP" = 1 ]; then
    # untimed: one message per account, fired the same way, so that a new node's code is compiled and each
    # collector's ledger open before the timed firing
    python3 "$PY" fill "$D/home" "$A" 1 "w$tag" "$MAILUID" "$MAILGID"
    fire_spread "warm.$tag" "$@" || { echo "the warm-up firing ($label) failed: $(cat "$D"/fire.warm."$tag".*.out | head -n 5)" >&2; STATUS=1; }
    DONE[$boxes]=$((${DONE[$boxes]:-0} + 1))
  fi
  python3 "$PY" fill "$D/home" "$A" "$M" "n$tag" "$MAILUID" "$MAILGID"
  l0=$(load)
  # shellcheck disable=SC2086
  jcpu0=$(cpu $pids)
  # shellcheck disable=SC2046
  pcpu0=$(cpu $(pg_pids))
  since=$("${PSQL[@]}" -c 'SELECT now()')
  touch "$D/sampling"
  rm -f "$D/sampling.peak"
  sample_sessions "$D/sampling" &
  p=$!
  t1=$(now)
  fire_spread "$tag" "$@" || st=$?
  t2=$(now)
  rm -f "$D/sampling"
  wait "$p"
  DONE[$boxes]=$((${DONE[$boxes]:-0} + M))
  # shellcheck disable=SC2086
  jcpu1=$(cpu $pids)
  # shellcheck disable=SC2046
  pcpu1=$(cpu $(pg_pids))
  l1=$(load)
  [ "$st" -eq 0 ] || STATUS=$st
  secs=$(echo "$t2 - $t1" | bc)
  msgs=$((A * M))
  rate=$(echo "$msgs / $secs" | bc)
  outcomes=$(cat "$D"/fire."$tag".*.out | grep -Eo '^c[0-9]+ (OK|PARTIAL|FAILED) ' | awk '{ print $2 }' | sort | uniq -c \
    | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')
  cat "$D"/fire."$tag".*.out | grep -E '^c[0-9]+ (PARTIAL|FAILED) ' | head -n 3 || true
  check=$(python3 "$PY" check "$D/home" "$boxes" "$A" "${DONE[$boxes]}") || STATUS=1
  echo "$check"
  once=$(echo "$check" | grep -q ': exactly once$' && echo "exactly once" || echo "NOT exactly once")
  if [ "$cluster" = 1 ]; then
    pernode=$("${PSQL[@]}" -F ' ' -c "SELECT coalesce(node_id, '-'), count(*), count(took_over) FROM uplink_firing
        WHERE requested >= '$since' GROUP BY 1 ORDER BY 1" \
      | awk '{ printf "%s%s %s%s", (NR > 1 ? ", " : ""), $1, $2, ($3 > 0 ? " (" $3 " taken over)" : "") }')
    # requested -> started: the wait for a Quartz thread and the trigger's way through the cluster; started -> ended
    delays=$("${PSQL[@]}" -F ' ' -c "SELECT
          round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY started - requested))::numeric, 2),
          round(extract(epoch FROM max(started - requested))::numeric, 2), round(extract(epoch FROM avg(ended - started))::numeric, 2)
        FROM uplink_firing WHERE requested >= '$since'" \
      | awk '{ printf "; start delay median %s s, max %s s; firing %s s on average", $1, $2, $3 }')
    pernode="; run by $pernode"
  fi
  line=$(printf '%s: %d msgs in %.2f s = %d msgs/s; %s; firings %s%s%s; at most %s POP3 sessions; JVM CPU %.2f ms/msg, PostgreSQL CPU %.2f ms/msg; load %s -> %s' \
    "$label" "$msgs" "$secs" "$rate" "$once" "${outcomes:-none} (fire exit $st)" "$pernode" "$delays" \
    "$(cat "$D/sampling.peak" 2>/dev/null || echo 0)" \
    "$(echo "($jcpu1 - $jcpu0) * 1000 / $msgs" | bc -l)" "$(echo "($pcpu1 - $pcpu0) * 1000 / $msgs" | bc -l)" "$l0" "$l1")
  echo "$line"
  SUMMARY+=("$line")
}

# single node, no cluster (files, no database): the distribution itself, items in its own etc/
if [ "$SINGLE" = 1 ]; then
  cp "$SHARED"/io.uplink.*.cfg "$K"/etc/
  "$K"/bin/start
  await_live 0 "$K"
  timed_round "single node, no cluster" "$K/data/uplink/mailboxes" 0 "$K"
  stop_karaf "$K"
fi

HOMES=()
for N in $(seq 1 "$NODES"); do
  HOMES+=("$D/node$N")
  "$D/node$N/bin/start"
  await_live "$N" "${HOMES[@]}"
  timed_round "cluster, $N node$([ "$N" -gt 1 ] && echo s || echo ' ')" "$BOXES" 1 "${HOMES[@]}"
done

echo
echo "=== cluster benchmark: A=$A accounts x M=$M messages of 4 KiB, C=$C connections, collectors.parallel=${PARALLEL:-default}," \
  "maxSessionsPerHost=${PER_HOST:-default}, threads per node=${THREADS:-default}; $(nproc) cores ==="
echo "raw pipelined POP3 client (same accounts, same run, writes nothing): ${RAW#*: } ; load $RAWLOAD0 -> $RAWLOAD1"
printf '%s\n' "${SUMMARY[@]}"
echo "load average at start: $LOAD0; at the end: $(load)"
echo "(run directory: $D)"
exit "$STATUS"
