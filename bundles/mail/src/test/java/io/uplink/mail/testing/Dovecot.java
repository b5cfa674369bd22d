package io.uplink.mail.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private Debian Dovecot (packages dovecot-core, -imapd, -pop3d, -lmtpd) for tests and benchmarks: its own
 * folder, configuration and free loopback ports (IMAP, POP3, LMTP), plain text, no authentication delay.
 * Users live in a passwd-file ({@link #user}); every user's mail is the Maildir {@code <mail>/<user>}
 * (the same layout as Uplink's {@code mailboxes.dir}), owned by {@code nobody}, the user the mail
 * processes run as (Dovecot refuses root). LMTP recipients are {@code user@any.domain}.
 * Runs in the foreground as a child process ({@code dovecot -F}), so {@link #close} always ends it.
 */
public final class Dovecot implements AutoCloseable {

    /** The password of every user. */
    public static final String PASSWORD = "secret";

    private final Path dir;
    private final Path mail;
    private final int imap;
    private final int pop3;
    private final int lmtp;
    private final String uid;
    private final String gid;
    private Process process;

    private Dovecot(Path dir, Path mail, int imap, int pop3, int lmtp, String uid, String gid) {
        this.dir = dir;
        this.mail = mail;
        this.imap = imap;
        this.pop3 = pop3;
        this.lmtp = lmtp;
        this.uid = uid;
        this.gid = gid;
    }

    /**
     * Starts a Dovecot in {@code dir} (created) whose users' Maildirs are under {@code mail}.
     * {@code dir} and its parents must be enterable by Dovecot's unprivileged processes (made so here).
     */
    public static Dovecot start(Path dir, Path mail) throws IOException {
        Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(dir.resolve("state"));
        Files.createDirectories(mail);
        for (Path p = dir; p != null && p.getNameCount() > 1; p = p.getParent()) {
            openForTraversal(p);
        }
        openForTraversal(mail);
        int[] ports = freePorts(3);
        String uid = run("id", "-u", "nobody").trim();
        String gid = run("id", "-g", "nobody").trim();
        chown(mail, uid, gid);
        Dovecot d = new Dovecot(dir, mail, ports[0], ports[1], ports[2], uid, gid);
        Files.writeString(dir.resolve("passwd"), "");
        Files.writeString(dir.resolve("dovecot.conf"), d.config());
        d.process = new ProcessBuilder("dovecot", "-F", "-c", dir.resolve("dovecot.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("dovecot.out").toFile()).start();
        try {
            await().atMost(30, TimeUnit.SECONDS).pollInterval(20, TimeUnit.MILLISECONDS)
                    .until(() -> !d.process.isAlive() || listening(ports[0]) && listening(ports[1]) && listening(ports[2]));
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        if (!d.process.isAlive()) {
            throw new IOException("dovecot did not start: " + Files.readString(dir.resolve("dovecot.out"))
                    + d.log());
        }
        return d;
    }

    private String config() {
        return """
                base_dir = %1$s/run
                state_dir = %1$s/state
                log_path = %1$s/dovecot.log
                protocols = imap pop3 lmtp
                listen = 127.0.0.1
                ssl = no
                disable_plaintext_auth = no
                auth_mechanisms = plain login
                auth_failure_delay = 0
                mail_location = maildir:%2$s/%%n
                pop3_uidl_format = %%08Xu%%08Xv
                passdb {
                  driver = passwd-file
                  args = scheme=PLAIN username_format=%%n %1$s/passwd
                }
                userdb {
                  driver = passwd-file
                  args = username_format=%%n %1$s/passwd
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
                    port = %4$d
                  }
                  inet_listener pop3s {
                    port = 0
                  }
                }
                service lmtp {
                  inet_listener lmtp {
                    address = 127.0.0.1
                    port = %5$d
                  }
                }
                """.formatted(dir, mail, imap, pop3, lmtp);
    }

    /** Adds a user (password {@link #PASSWORD}); Dovecot reads the passwd-file again when it changed. */
    public synchronized Dovecot user(String name) throws IOException {
        Files.writeString(dir.resolve("passwd"), name + ":{PLAIN}" + PASSWORD + ":" + uid + ":" + gid + "::"
                + mail.resolve(name) + "::\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        return this;
    }

    /** Gives the tree at {@code path} to the user the mail processes run as (as Uplink running as that user would have written it). */
    public void own(Path path) throws IOException {
        chown(path, uid, gid);
    }

    public int imapPort() {
        return imap;
    }

    public int pop3Port() {
        return pop3;
    }

    public int lmtpPort() {
        return lmtp;
    }

    /** The users' Maildirs' parent. */
    public Path mail() {
        return mail;
    }

    /** Dovecot's log, for assertion messages. */
    public String log() {
        try {
            Path p = dir.resolve("dovecot.log");
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy(); // SIGTERM: the master stops its children
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void openForTraversal(Path p) throws IOException {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        perms.addAll(PosixFilePermissions.fromString("r-xr-xr-x"));
        Files.setPosixFilePermissions(p, perms);
    }

    private static void chown(Path p, String uid, String gid) throws IOException {
        run("chown", "-R", uid + ":" + gid, p.toString());
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Free loopback ports, all held open until every one is found so none is handed out twice. */
    public static int[] freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                out[i] = s.getLocalPort();
            }
            return out;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    private static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return out;
    }
}
