# Shared by the benchmarks (sourced): a Dovecot (POP3 and IMAP, plain text, loopback only) in a folder of
# its own, on free ports, with users whose password is "bench".
#   dovecot_prepare DIR USER...   sets POP3, IMAP, MAILUID, MAILGID; creates DIR/home/USER/Maildir
#   dovecot_start DIR             (after the Maildirs are filled and owned by MAILUID:MAILGID)
#   DOVECOT_SESSIONS=N            (optional, before dovecot_prepare) room for N sessions at once instead of
#                                 Dovecot's default of about 100 login processes
#   DOVECOT_SETTINGS='...'        (optional) lines added to Dovecot's configuration, for server-side
#                                 experiments reported apart from the default figures
#   dovecot_stop DIR
#   sample_sessions FILE          the largest number of established sessions to the POP3 port, written to FILE.peak
#                                 (the server's ends) and FILE.clientpeak (the clients' ends), sampled every 50 ms
#                                 until FILE is removed (run it in the background)

dovecot_prepare() {
  if ! command -v dovecot >/dev/null 2>&1; then
    echo "installing dovecot-pop3d dovecot-imapd"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-pop3d dovecot-imapd >/dev/null
  fi
  D=$1
  shift
  chmod 755 "$D"
  mkdir -p "$D/run" "$D/state" "$D/home"
  ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
  POP3=${ports% *}
  IMAP=${ports#* }
  MAILUID=$(id -u nobody)
  MAILGID=$(id -g nobody)
  : > "$D/passwd"
  for u in "$@"; do
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
$(dovecot_limits)
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
  if [ -n "${DOVECOT_SETTINGS:-}" ]; then
    printf '%s\n' "$DOVECOT_SETTINGS" >> "$D/dovecot.conf"
    echo "Dovecot settings added: $DOVECOT_SETTINGS"
  fi
}

# Process and client limits for DOVECOT_SESSIONS sessions at once (nothing when unset).
dovecot_limits() {
  n=${DOVECOT_SESSIONS:-}
  [ -n "$n" ] || return 0
  [ "$n" -ge 100 ] || n=100
  echo "default_process_limit = $((n + 50))"
  echo "default_client_limit = $((4 * n + 1000))"
  echo "default_vsz_limit = 512M"
}

dovecot_start() {
  # every session holds descriptors in the login, auth and mail processes
  [ -z "${DOVECOT_SESSIONS:-}" ] || ulimit -n 65536 2>/dev/null || true
  dovecot -c "$1/dovecot.conf"
}

dovecot_stop() {
  doveadm -c "$1/dovecot.conf" stop >/dev/null 2>&1 || true
}

sample_sessions() {
  peak=0
  cpeak=0
  while [ -e "$1" ]; do
    n=$(ss -Htn state established "( sport = :$POP3 )" | wc -l)
    if [ "$n" -gt "$peak" ]; then peak=$n; echo "$peak" > "$1.peak"; fi
    # the clients' ends of the same sessions, in a look of their own: the two counts can differ by one or two
    # (socket states, not sessions; see BENCHMARKS.md, Method)
    n=$(ss -Htn state established "( dport = :$POP3 )" | wc -l)
    if [ "$n" -gt "$cpeak" ]; then cpeak=$n; echo "$cpeak" > "$1.clientpeak"; fi
    sleep 0.05
  done
}
