package io.uplink.testing.oauth2;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * Debian's Postfix in a folder of its own on a free loopback port: SMTP AUTH through Dovecot's SASL socket
 * (so XOAUTH2 tokens are validated by {@link OAuth2Dovecot}'s {@code passdb oauth2}), relaying only for
 * signed-in clients, and discarding what it accepted (the test reads the log).
 */
public final class OAuth2Postfix implements AutoCloseable {

    public final Path dir;
    public final int port;

    private OAuth2Postfix(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    public static OAuth2Postfix start(Path dir, Path saslSocket) throws IOException, InterruptedException {
        int port = OAuth2Dovecot.freePorts(1)[0];
        Path etc = dir.resolve("etc");
        Files.createDirectories(etc);
        Files.createDirectories(dir.resolve("queue"));
        Files.createDirectories(dir.resolve("data"));
        OAuth2Dovecot.run("chmod", "755", dir.toString());
        OAuth2Dovecot.run("chown", "postfix", dir.resolve("data").toString());
        String master = Files.readString(Path.of("/etc/postfix/master.cf"), StandardCharsets.UTF_8)
                .replaceFirst("(?m)^smtp\\s+inet\\s.*$", "127.0.0.1:" + port + " inet n - n - - smtpd");
        Files.writeString(etc.resolve("master.cf"), master, StandardCharsets.UTF_8);
        Files.writeString(etc.resolve("main.cf"), """
                compatibility_level = 3.6
                queue_directory = %1$s/queue
                data_directory = %1$s/data
                mail_owner = postfix
                myhostname = mx.example.test
                mydestination =
                inet_interfaces = 127.0.0.1
                inet_protocols = ipv4
                maillog_file_prefixes = %1$s
                maillog_file = %1$s/postfix.log
                default_transport = discard:
                relay_transport = discard:
                local_transport = discard:
                smtpd_sasl_auth_enable = yes
                smtpd_sasl_type = dovecot
                smtpd_sasl_path = %2$s
                smtpd_sasl_security_options = noanonymous
                smtpd_relay_restrictions = permit_sasl_authenticated, reject
                smtpd_recipient_restrictions = permit_sasl_authenticated, reject
                smtpd_tls_security_level = none
                """.formatted(dir, saslSocket), StandardCharsets.UTF_8);
        OAuth2Dovecot.run("postfix", "-c", etc.toString(), "start");
        OAuth2Postfix p = new OAuth2Postfix(dir, port);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!p.listening()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("Postfix did not listen within 60 s: " + p.log());
            }
            LockSupport.parkNanos(20_000_000L); // poll pace, with the deadline above
        }
        return p;
    }

    private boolean listening() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public String log() throws IOException {
        Path l = dir.resolve("postfix.log");
        return Files.exists(l) ? Files.readString(l) : "";
    }

    @Override
    public void close() throws IOException, InterruptedException {
        OAuth2Dovecot.run("postfix", "-c", dir.resolve("etc").toString(), "stop");
    }
}
