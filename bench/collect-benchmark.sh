#!/bin/sh
# Collect benchmark: Uplink's Mail Collector against Debian's Dovecot on loopback, beside a raw lock-step
# POP3/IMAP client on the same server in the same run. Needs the Debian packages dovecot-pop3d and
# dovecot-imapd (installed when missing, as root) and a built project (mvn install -DskipTests).
#   bench/collect-benchmark.sh [messages, default 2000] [rounds, default 5]
#   bench/collect-benchmark.sh --scale [sizes, comma-separated, default 1000,5000,20000] [rounds, default 3]
#   bench/collect-benchmark.sh --stores [messages, default 2000] [rounds, default 3]
# Prints messages/s and the ratio Uplink / raw per round (raw and Uplink alternate, each on its own fresh
# mailbox) and the median ratio with the spread of the rounds' ratios and the load average before and after:
# on a shared machine single runs swing widely. With --scale: per size, protocol and round the raw client
# then Uplink, each on a fresh mailbox of its own, after a warm-up of 2,000 (each round takes the sizes in
# another order); per firing msgs/s, Uplink's phases and the raw client's deletion time; per size the medians
# of Uplink's rate, of Uplink's own part (all but the server's deletion), of the raw rate and of the ratio, and
# each one's slowest median against the fastest (whether the rate stays flat as a mailbox grows). Every run uses a fresh
# directory (the previous one is never deleted right before a timed run: on ext4 without a journal that
# slows file creation down). JAVA_OPTS reaches the benchmark JVM (e.g. -XX:StartFlightRecording=...).
# With --stores: Uplink alone, the ledger in a file against the ledger in a private PostgreSQL (Debian's
# postgresql package; fsync on; every write through a fence as on a cluster node), alternating rounds, each on
# its own fresh mailbox; msgs/s of both and the database's rate against the file's (target: at least 50%).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/dovecot.sh"
if [ "${1:-}" = "--stores" ]; then
  STORES=1
  N=${2:-2000}
  ROUNDS=${3:-3}
  USERS="warm-file-pop3 warm-db-pop3 warm-file-imap warm-db-imap"
  for r in $(seq "$ROUNDS"); do USERS="$USERS file-pop3-$r db-pop3-$r file-imap-$r db-imap-$r"; done
elif [ "${1:-}" = "--scale" ]; then
  SIZES=${2:-1000,5000,20000}
  ROUNDS=${3:-3}
  USERS="warm-uplink-pop3 warm-uplink-imap"
  for r in $(seq "$ROUNDS"); do
    for n in $(echo "$SIZES" | tr ',' ' '); do
      for c in raw uplink; do USERS="$USERS scale-$c-pop3-$n-$r scale-$c-imap-$n-$r"; done
    done
  done
else
  N=${1:-2000}
  ROUNDS=${2:-5}
  USERS="warm-raw-pop3 warm-uplink-pop3 warm-raw-imap warm-uplink-imap"
  for r in $(seq "$ROUNDS"); do USERS="$USERS raw-pop3-$r uplink-pop3-$r raw-imap-$r uplink-imap-$r"; done
fi
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-collect-bench.XXXXXX")
mkdir -p "$D/out"
# shellcheck disable=SC2086
dovecot_prepare "$D" $USERS

cd "$ROOT"
mvn -B -o -q -pl bundles/mail -am test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

dovecot_start "$D"
trap 'dovecot_stop "$D"' EXIT

if [ -n "${STORES:-}" ]; then
  # shellcheck disable=SC2086
  java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.CollectBenchmark stores "$D" "$N" "$POP3" "$IMAP" "$MAILUID" "$MAILGID" "$ROUNDS"
elif [ -n "${SIZES:-}" ]; then
  # shellcheck disable=SC2086
  java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.CollectBenchmark scale "$D" "$SIZES" "$ROUNDS" "$POP3" "$IMAP" "$MAILUID" "$MAILGID"
else
  # shellcheck disable=SC2086
  java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.CollectBenchmark "$D" "$N" "$POP3" "$IMAP" "$MAILUID" "$MAILGID" "$ROUNDS"
fi
echo "(run directory: $D)"
