#!/bin/sh
# Collect benchmark: Uplink's Mail Collector against Debian's Dovecot on loopback, beside a raw lock-step
# POP3/IMAP client on the same server in the same run. Needs the Debian packages dovecot-pop3d and
# dovecot-imapd (installed when missing, as root) and a built project (mvn install -DskipTests).
#   bench/collect-benchmark.sh [messages, default 2000] [rounds, default 3]
# Prints messages/s and the ratio Uplink / raw per round (raw and Uplink alternate, each on its own fresh
# mailbox) and the median ratio: on a shared machine single runs swing widely. Every run uses a fresh directory (the previous one is
# never deleted right before a timed run: on ext4 without a journal that slows file creation down).
set -eu
N=${1:-2000}
ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v dovecot >/dev/null 2>&1; then
  echo "installing dovecot-pop3d dovecot-imapd"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-pop3d dovecot-imapd >/dev/null
fi

D=$(mktemp -d "${TMPDIR:-/tmp}/uplink-collect-bench.XXXXXX")
chmod 755 "$D"
mkdir -p "$D/run" "$D/state" "$D/home" "$D/out"
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
POP3=${ports% *}
IMAP=${ports#* }
MAILUID=$(id -u nobody)
MAILGID=$(id -g nobody)

: > "$D/passwd"
USERS="warm-raw-pop3 warm-uplink-pop3 warm-raw-imap warm-uplink-imap"
for r in $(seq "$ROUNDS"); do USERS="$USERS raw-pop3-$r uplink-pop3-$r raw-imap-$r uplink-imap-$r"; done
for u in $USERS; do
  mkdir -p "$D/home/$u/Maildir/new" "$D/home/$u/Maildir/cur" "$D/home/$u/Maildir/tmp"
  echo "$u:{PLAIN}bench:$MAILUID:$MAILGID::$D/home/$u::" >> "$D/passwd"
done

cat > "$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = pop3 imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3
  }
  inet_listener pop3s {
    port = 0
  }
}
CONF

cd "$ROOT"
mvn -B -o -q -pl bundles/mail test-compile dependency:build-classpath -Dmdep.outputFile="$D/classpath" -Dmdep.includeScope=test
CP="$ROOT/bundles/mail/target/classes:$ROOT/bundles/mail/target/test-classes:$(cat "$D/classpath")"

dovecot -c "$D/dovecot.conf"
trap 'doveadm -c "$D/dovecot.conf" stop >/dev/null 2>&1 || true' EXIT

java -cp "$CP" io.uplink.mail.internal.collect.CollectBenchmark "$D" "$N" "$POP3" "$IMAP" "$MAILUID" "$MAILGID" "$ROUNDS"
echo "(run directory: $D)"
