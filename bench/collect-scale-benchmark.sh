#!/bin/sh
# Collect scale benchmark: whether Uplink's collect rate stays flat as one mailbox grows. Uplink's Mail
# Collector (delete after store, full fsync durability, as in collect-benchmark.sh) against Debian's Dovecot
# on loopback, one fresh mailbox per size and protocol (POP3, then IMAP), after a warm-up of 300 messages.
#   bench/collect-scale-benchmark.sh [sizes, comma-separated, default 1000,5000,20000]
# Prints msgs/s per size with the load average, and the slowest size's rate against the fastest's.
set -eu
SIZES=${1:-1000,5000,20000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

. "$ROOT/bench/dovecot.sh"
USERS="warm-uplink-pop3 warm-uplink-imap"
for n in $(echo "$SIZES" | tr ',' ' '); do USERS="$USERS scale-pop3-$n scale-imap-$n"; done
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-collect-scale.XXXXXX")
mkdir -p "$D/out"
# shellcheck disable=SC2086
dovecot_prepare "$D" $USERS

cd "$ROOT"
mvn -B -o -q -pl bundles/mail test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

dovecot_start "$D"
trap 'dovecot_stop "$D"' EXIT

# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.CollectBenchmark scale "$D" "$SIZES" "$POP3" "$IMAP" "$MAILUID" "$MAILGID"
echo "(run directory: $D)"
