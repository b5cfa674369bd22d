#!/bin/sh
# Delivery benchmark: Uplink's collector takes 4 KiB messages from Dovecot over POP3 and delivers them into a
# local Maildir, or to the same Dovecot's LMTP, alternating in the same run (each on a fresh mailbox).
# Needs root (Dovecot's mail processes run as nobody) and the Debian packages dovecot-core, dovecot-pop3d,
# dovecot-imapd and dovecot-lmtpd (installed when missing).
#   bench/delivery-benchmark.sh [messages, default 2000] [rounds, default 3]
# Prints both rates per round and the median ratio LMTP / Maildir (target >= 50%).
set -eu
N=${1:-2000}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
need=""
for p in dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
fi
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-delivery-bench.XXXXXX")
cd "$ROOT"
mvn -B -o -q -pl bundles/mail -am test-compile dependency:build-classpath -DobrRepository=NONE \
  -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$ROOT/bundles/api/target/classes:$(cat "$D/classpath")"
# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.DeliveryBenchmark "$D" "$N" "$ROUNDS"
echo "(run directory: $D)"
