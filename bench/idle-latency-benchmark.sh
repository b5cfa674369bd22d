#!/bin/sh
# Live delivery latency: a Mail Collector with idle = true keeps an IMAP IDLE session on Debian's Dovecot on
# loopback; another client APPENDs one 4 KiB message at a time, and the time from sending the APPEND to the
# message's file being in the Maildir (new/, seen through inotify) is measured. Needs the Debian package
# dovecot-imapd (installed when missing, as root) and a built project (mvn install -DskipTests).
#   bench/idle-latency-benchmark.sh [messages, default 50]
# Prints median, p95 and max (target: max <= 2 s). Every run uses a fresh directory.
set -eu
N=${1:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

. "$ROOT/bench/dovecot.sh"
D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-idle-bench.XXXXXX")
mkdir -p "$D/out"
dovecot_prepare "$D" idle

cd "$ROOT"
mvn -B -o -q -pl bundles/mail -am test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

chown -R "$MAILUID:$MAILGID" "$D/home"
dovecot_start "$D"
trap 'dovecot_stop "$D"' EXIT

# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -cp "$CP" io.uplink.mail.internal.collect.IdleLatencyBenchmark "$D" "$N" "$IMAP" idle
echo "(run directory: $D)"
