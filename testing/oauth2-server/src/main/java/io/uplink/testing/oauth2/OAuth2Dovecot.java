package io.uplink.testing.oauth2;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * Debian's Dovecot in a folder of its own on free loopback ports, POP3 and IMAP, signing in only with XOAUTH2
 * or OAUTHBEARER: {@code passdb oauth2} validates the JWT locally against the public key the test authorization
 * server writes into {@code keys/}. Mail for {@code <local>@...} lives in {@code home/<local>/Maildir}.
 */
public final class OAuth2Dovecot implements AutoCloseable {

    public final Path dir;
    public final Path keys;
    public final int pop3;
    public final int imap;
    /** POP3 over TLS from the first byte, 0 without {@link #prepareWithTls}. */
    public final int pop3s;

    private OAuth2Dovecot(Path dir, int pop3, int imap, int pop3s) {
        this.dir = dir;
        this.keys = dir.resolve("keys");
        this.pop3 = pop3;
        this.imap = imap;
        this.pop3s = pop3s;
    }

    /** Writes the configuration; {@link #start()} once the authorization server has written its key. */
    public static OAuth2Dovecot prepare(Path dir, String scope, String... users) throws IOException, InterruptedException {
        return prepare(dir, scope, false, users);
    }

    /**
     * As {@link #prepare}, plus TLS: STARTTLS on the POP3 and IMAP ports, POP3 over TLS on {@link #pop3s}, with a
     * self-signed certificate for 127.0.0.1 in {@link #certificate()} (plaintext logins stay allowed).
     */
    public static OAuth2Dovecot prepareWithTls(Path dir, String scope, String... users)
            throws IOException, InterruptedException {
        return prepare(dir, scope, true, users);
    }

    private static OAuth2Dovecot prepare(Path dir, String scope, boolean tls, String... users)
            throws IOException, InterruptedException {
        int[] ports = freePorts(3);
        OAuth2Dovecot d = new OAuth2Dovecot(dir, ports[0], ports[1], tls ? ports[2] : 0);
        Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(dir.resolve("state"));
        for (String u : users) {
            for (String sub : List.of("new", "cur", "tmp")) {
                Files.createDirectories(dir.resolve("home").resolve(u).resolve("Maildir").resolve(sub));
            }
        }
        // Dovecot's auth and mail processes run as other users: they must reach the keys and the homes
        run("chmod", "755", dir.toString(), dir.getParent().toString());
        run("chown", "-R", "nobody:nogroup", dir.resolve("home").toString());
        String ssl = "ssl = no";
        if (tls) {
            run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir.resolve("key.pem").toString(), "-out",
                    d.certificate().toString());
            ssl = "ssl = yes\nssl_cert = <" + d.certificate() + "\nssl_key = <" + dir.resolve("key.pem");
        }
        String conf = """
                base_dir = %1$s/run
                state_dir = %1$s/state
                log_path = %1$s/dovecot.log
                protocols = pop3 imap
                listen = 127.0.0.1
                %5$s
                disable_plaintext_auth = no
                auth_mechanisms = xoauth2 oauthbearer
                auth_failure_delay = 0
                mail_location = maildir:~/Maildir
                pop3_uidl_format = %%08Xu%%08Xv
                passdb {
                  driver = oauth2
                  mechanisms = xoauth2 oauthbearer
                  args = %1$s/oauth2.conf
                }
                userdb {
                  driver = static
                  args = uid=nobody gid=nogroup home=%1$s/home/%%n
                }
                service imap-login {
                  inet_listener imap {
                    address = 127.0.0.1
                    port = %3$d
                  }
                  inet_listener imaps {
                    port = 0
                  }
                }
                service pop3-login {
                  inet_listener pop3 {
                    address = 127.0.0.1
                    port = %2$d
                  }
                  inet_listener pop3s {
                    address = 127.0.0.1
                    port = %4$d
                  }
                }
                service auth {
                  unix_listener %1$s/auth-client {
                    mode = 0666
                  }
                }
                service anvil {
                  unix_listener anvil-auth-penalty {
                    mode = 0
                  }
                }
                """.formatted(dir, d.pop3, d.imap, d.pop3s, ssl);
        Files.writeString(dir.resolve("dovecot.conf"), conf, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("oauth2.conf"), """
                introspection_mode = local
                local_validation_key_dict = fs:posix:prefix=%s/
                username_attribute = email
                scope = %s
                """.formatted(d.keys, scope), StandardCharsets.UTF_8);
        return d;
    }

    /** The server's certificate (PEM) when prepared with TLS, for {@code trust.file}. */
    public Path certificate() {
        return dir.resolve("cert.pem");
    }

    /** The SASL socket for Postfix ({@code smtpd_sasl_type = dovecot}). */
    public Path authSocket() {
        return dir.resolve("auth-client");
    }

    public void start() throws IOException, InterruptedException {
        run("dovecot", "-c", dir.resolve("dovecot.conf").toString());
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!(listening(imap) && listening(pop3) && (pop3s == 0 || listening(pop3s)))) {
            if (System.nanoTime() > deadline) {
                throw new IOException("Dovecot did not listen within 60 s: " + log());
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L); // poll pace, with the deadline above
        }
    }

    /** Puts a message into a user's Maildir/new, owned by the mail user as Dovecot expects. */
    public void deliver(String user, byte[] message) throws IOException, InterruptedException {
        Path f = dir.resolve("home").resolve(user).resolve("Maildir").resolve("new")
                .resolve(System.currentTimeMillis() + "." + UUID.randomUUID() + ".test");
        Files.write(f, message);
        run("chown", "nobody:nogroup", f.toString());
    }

    /** Messages in the user's Maildir (new and cur). */
    public long messages(String user) throws IOException {
        long n = 0;
        for (String sub : List.of("new", "cur")) {
            try (var s = Files.list(dir.resolve("home").resolve(user).resolve("Maildir").resolve(sub))) {
                n += s.count();
            }
        }
        return n;
    }

    public String log() throws IOException {
        Path l = dir.resolve("dovecot.log");
        return Files.exists(l) ? Files.readString(l) : "";
    }

    @Override
    public void close() throws IOException, InterruptedException {
        new ProcessBuilder("doveadm", "-c", dir.resolve("dovecot.conf").toString(), "stop").inheritIO().start().waitFor();
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public static int[] freePorts(int n) throws IOException {
        ServerSocket[] s = new ServerSocket[n];
        int[] ports = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                s[i] = new ServerSocket(0);
                ports[i] = s[i].getLocalPort();
            }
        } finally {
            for (ServerSocket x : s) {
                if (x != null) {
                    x.close();
                }
            }
        }
        return ports;
    }

    /** Runs a command to its end; output goes to a file (a daemon it forks would hold a pipe open). */
    public static void run(String... cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile("uplink-cmd", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        int status = p.waitFor();
        String out = Files.readString(log);
        Files.delete(log);
        if (status != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
