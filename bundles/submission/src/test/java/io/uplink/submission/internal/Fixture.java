package io.uplink.submission.internal;

import io.uplink.api.mail.LocalMailboxes;
import io.uplink.mail.internal.outbox.FileOutbox;
import io.uplink.mail.internal.store.Maildir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A listener in this JVM on a free loopback port, over a real outbox and Maildirs in a temp folder. */
final class Fixture implements AutoCloseable {

    final Path dir;
    final FileOutbox outbox;
    final Path mailboxes;
    final SubmissionServer server;
    final int port;

    /** Users: alice/secret (mailer), carol/secret (mailer, senders restricted), bob/secret (viewer only). */
    static final Passwords USERS = (user, pw) -> {
        if (!"secret".equals(new String(pw))) {
            return null;
        }
        return switch (user) {
            case "alice", "carol" -> Set.of("mailer");
            case "bob" -> Set.of("viewer");
            default -> null;
        };
    };

    /** The first non-loopback IPv4 address of this machine, or null. */
    static java.net.InetAddress siteAddress() throws IOException {
        for (java.net.NetworkInterface n : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (n.isUp() && !n.isLoopback()) {
                for (java.net.InetAddress a : java.util.Collections.list(n.getInetAddresses())) {
                    if (a instanceof java.net.Inet4Address) {
                        return a;
                    }
                }
            }
        }
        return null;
    }

    Fixture(Path dir, Map<String, Object> settings) throws IOException {
        this.dir = dir;
        this.outbox = new FileOutbox(dir.resolve("outbox"), dir.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
        this.mailboxes = dir.resolve("mailboxes");
        Map<String, Object> p = new HashMap<>();
        p.put("listen", "127.0.0.1:0");
        p.putAll(settings);
        LocalMailboxes local = new LocalMailboxes() {
            @Override
            public String postmaster() {
                return "postmaster";
            }

            @Override
            public void deliver(String mailbox, InputStream message) throws IOException {
                Maildir.open(mailboxes.resolve(mailbox)).deliver(message);
            }

            @Override
            public Set<String> localDomains() {
                return Set.of("office.test");
            }
        };
        this.server = new SubmissionServer(SubmissionConfig.of(p), outbox, () -> local, USERS);
        server.start();
        this.port = server.ports().get(0);
    }

    /** A PKCS12 key store with a self-signed certificate for localhost and 127.0.0.1, made with the JDK's keytool. */
    static Path keystore(Path dir) throws Exception {
        return keystore(dir, "server.p12", "");
    }

    /** As {@link #keystore(Path)}, the certificate also naming {@code extraSan} (such as {@code ,ip:10.0.0.5}). */
    static Path keystore(Path dir, String name, String extraSan) throws Exception {
        Path ks = dir.resolve(name);
        if (!Files.exists(ks)) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                    "-genkeypair", "-keyalg", "RSA", "-keysize", "2048", "-alias", "server", "-dname", "CN=localhost",
                    "-ext", "SAN=dns:localhost,ip:127.0.0.1" + extraSan, "-validity", "2", "-storetype", "PKCS12", "-keystore",
                    ks.toString(), "-storepass", "changeit", "-keypass", "changeit").inheritIO().start();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("keytool failed");
            }
        }
        return ks;
    }

    /** A client context that trusts exactly that certificate. */
    static SSLContext trusting(Path ks) throws Exception {
        KeyStore k = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            k.load(in, "changeit".toCharArray());
        }
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("server", k.getCertificate("server"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Messages in a local mailbox's new/ folder. */
    long delivered(String mailbox) throws IOException {
        Path n = mailboxes.resolve(mailbox).resolve("new");
        if (!Files.isDirectory(n)) {
            return 0;
        }
        try (var s = Files.list(n)) {
            return s.count();
        }
    }

    /** Runs swaks against the listener; returns its exit code and transcript. */
    Swaks swaks(String... args) throws Exception {
        String host = String.valueOf(server.config.listen.get(0).getAddress().getHostAddress());
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("swaks", "--server", host,
                "--port", Integer.toString(port), "--helo", "client.test", "--timeout", "30"));
        cmd.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("swaks did not end:\n" + out);
        }
        return new Swaks(p.exitValue(), out);
    }

    record Swaks(int exit, String transcript) {
    }

    @Override
    public void close() {
        server.close();
        outbox.close();
    }
}
