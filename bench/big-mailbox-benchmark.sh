#!/bin/sh
# Big-mailbox benchmark: a mailbox left on the server (leaveOnServer.days = 30) of N messages the UID ledger
# already knows, then 10 new ones; one firing each for POP3 (UIDL of N) and IMAP (UID FETCH above the
# ledger's mark), against Debian's Dovecot on loopback, which this command sets up on free ports in a
# directory of its own; the new messages are delivered through Dovecot's LDA (DOVECOT_LDA, default Debian's
# path). Needs dovecot-pop3d and dovecot-imapd (installed when missing, as root); compiles the modules it
# needs.
#   bench/big-mailbox-benchmark.sh [sizes, default 10000,50000,100000]
#   STORE=mdbox bench/big-mailbox-benchmark.sh [sizes]
# STORE names Dovecot's mail store (mail_location): maildir (default), or mdbox / sdbox, a store without a
# cur/ directory to rescan; the Maildir is filled as for maildir and copied in with `doveadm import` (mdbox
# about 1-2 s per 10,000 messages here, sdbox several times that), and the new mail is delivered through the LDA
# into that store.
# DOVECOT_SETTINGS (optional, see bench/dovecot.sh) adds lines to Dovecot's configuration, for server-side
# experiments reported apart from the default figures, e.g. DOVECOT_SETTINGS='maildir_very_dirty_syncs = yes'.
# The kept messages are written straight into Dovecot's Maildir (sizes in the file names); the ledgers are
# generated from the server's own listing through UidLedger, as a first firing would leave them (see
# BENCHMARKS.md). Prints per size and protocol: the firing's time and the bytes it allocated, the ledger's
# size on disk and its load time, and the load average before and after. JAVA_OPTS reaches the JVM.
set -eu
SIZES=${1:-10000,50000,100000}
STORE=${STORE:-maildir}
case $STORE in
  maildir|mdbox|sdbox) ;;
  *) echo "STORE=$STORE: not a mail store this benchmark knows (maildir, mdbox or sdbox)" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)

. "$ROOT/bench/dovecot.sh"
USERS="warm"
for n in $(echo "$SIZES" | tr ',' ' '); do USERS="$USERS box$n"; done
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-big-mailbox-bench.XXXXXX")
mkdir -p "$D/out"
# shellcheck disable=SC2086
dovecot_prepare "$D" $USERS
[ "$STORE" = maildir ] || sed -i "s|^mail_location = .*|mail_location = $STORE:~/$STORE|" "$D/dovecot.conf"

cd "$ROOT"
mvn -B -o -q -pl bundles/mail -am test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

dovecot_start "$D"
trap 'dovecot_stop "$D"' EXIT

# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.BigMailboxBenchmark "$D" "$POP3" "$IMAP" "$MAILUID" "$MAILGID" "$SIZES" "${DOVECOT_LDA:-/usr/lib/dovecot/dovecot-lda}" "$STORE"
echo "(run directory: $D)"
