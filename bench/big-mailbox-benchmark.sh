#!/bin/sh
# Big-mailbox benchmark: a mailbox left on the server (leaveOnServer.days = 30) of N messages the UID ledger
# already knows, then 10 new ones; one firing each for POP3 (UIDL of N) and IMAP (UID FETCH above the
# ledger's mark), against Debian's Dovecot on loopback, which this command sets up on free ports in a
# directory of its own; the new messages are delivered through Dovecot's LDA (DOVECOT_LDA, default Debian's
# path). Needs dovecot-pop3d and dovecot-imapd (installed when missing, as root) and a built project
# (mvn install -DskipTests).
#   bench/big-mailbox-benchmark.sh [sizes, default 10000,50000,100000]
# The kept messages are written straight into Dovecot's Maildir (sizes in the file names); the ledgers are
# generated from the server's own listing through UidLedger, as a first firing would leave them (see
# BENCHMARKS.md). Prints per size and protocol: the firing's time and the bytes it allocated, the ledger's
# size on disk and its load time, and the load average before and after. JAVA_OPTS reaches the JVM.
set -eu
SIZES=${1:-10000,50000,100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

. "$ROOT/bench/dovecot.sh"
USERS="warm"
for n in $(echo "$SIZES" | tr ',' ' '); do USERS="$USERS box$n"; done
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-big-mailbox-bench.XXXXXX")
mkdir -p "$D/out"
# shellcheck disable=SC2086
dovecot_prepare "$D" $USERS

cd "$ROOT"
mvn -B -o -q -pl bundles/mail test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

dovecot_start "$D"
trap 'dovecot_stop "$D"' EXIT

# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.BigMailboxBenchmark "$D" "$POP3" "$IMAP" "$MAILUID" "$MAILGID" "$SIZES" "${DOVECOT_LDA:-/usr/lib/dovecot/dovecot-lda}"
echo "(run directory: $D)"
