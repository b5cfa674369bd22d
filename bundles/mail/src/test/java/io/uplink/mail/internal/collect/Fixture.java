package io.uplink.mail.internal.collect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import io.uplink.api.config.Settings;
import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.TaskContext;

/** What the collector tests share: settings, a movable clock, a task context, messages, Maildir reading. */
final class Fixture {

    private Fixture() {
    }

    /** A collector's settings as FileInstall would hand them over for {@code io.uplink.collector-<id>.cfg}. */
    static Settings settings(String id, String... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("service.pid", "io.uplink.collector~" + id);
        m.put("felix.fileinstall.filename", "file:/opt/uplink/etc/io.uplink.collector-" + id + ".cfg");
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return Settings.of("collector", "io.uplink.collector", m);
    }

    static Collection collection(Settings s, Path dir, Clock clock) {
        CollectorSettings c = CollectorSettings.of(s);
        return new Collection(c, dir.resolve("mailboxes"), dir.resolve("state").resolve("collector-" + c.id() + ".uidl"), clock);
    }

    static CollectReport collect(Settings s, Path dir, Clock clock) throws InterruptedException {
        return collection(s, dir, clock).run(new Context());
    }

    /** A collection whose mailboxes are at {@code mailboxes} ({@code mailboxes.dir}), its state under {@code dir}. */
    static CollectReport collect(Settings s, Path dir, Clock clock, Path mailboxes) throws InterruptedException {
        CollectorSettings c = CollectorSettings.of(s);
        return new Collection(c, mailboxes, dir.resolve("state").resolve("collector-" + c.id() + ".uidl"), clock)
                .run(new Context());
    }

    /** A task context whose link the test can take down; records progress. */
    static class Context implements TaskContext {
        final AtomicBoolean up = new AtomicBoolean(true);
        final List<String> progress = Collections.synchronizedList(new ArrayList<>());
        /** The firing's time left, as the connection's {@code firing.timeout} gives it; null = none. */
        volatile java.time.Duration timeLeft;

        @Override
        public java.util.Optional<java.time.Duration> timeLeft() {
            return java.util.Optional.ofNullable(timeLeft);
        }

        @Override
        public String connectionId() {
            return "office";
        }

        @Override
        public String connectionName() {
            return "Office";
        }

        @Override
        public String firingId() {
            return "f1";
        }

        @Override
        public boolean linkUp() {
            return up.get();
        }

        @Override
        public void progress(String message, int done, int total) {
            progress.add(message + " " + done + " of " + total);
        }
    }

    /** A raw RFC 5322 message with CRLF line ends, as a server stores it. */
    static byte[] message(String from, String to, String subject, String body) {
        String s = "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject.replace(' ', '.')
                + "@test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n";
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static MimeMessage mime(byte[] raw) throws Exception {
        return new MimeMessage(Session.getInstance(new Properties()), new java.io.ByteArrayInputStream(raw));
    }

    /** The files of a Maildir's {@code new/}, sorted by name. */
    static List<Path> newFiles(Path mailbox) throws IOException {
        Path dir = mailbox.resolve("new");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** The Subject of every message in a Maildir, parsed as a Maildir reader would. */
    static List<String> subjects(Path mailbox) throws Exception {
        List<String> out = new ArrayList<>();
        for (Path p : newFiles(mailbox)) {
            try (InputStream in = Files.newInputStream(p)) {
                out.add(new MimeMessage(Session.getInstance(new Properties()), in).getSubject());
            }
        }
        Collections.sort(out);
        return out;
    }

    /** GreenMail's self-signed certificate as a PEM file, for {@code trust.file}. */
    static Path greenMailCertificate(Path dir) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = com.icegreen.greenmail.util.GreenMail.class.getClassLoader().getResourceAsStream("greenmail.p12")) {
            ks.load(in, "changeit".toCharArray());
        }
        Certificate cert = ks.getCertificate(ks.aliases().nextElement());
        ByteArrayOutputStream pem = new ByteArrayOutputStream();
        pem.write("-----BEGIN CERTIFICATE-----\n".getBytes(StandardCharsets.US_ASCII));
        pem.write(Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encode(cert.getEncoded()));
        pem.write("\n-----END CERTIFICATE-----\n".getBytes(StandardCharsets.US_ASCII));
        Path file = dir.resolve("greenmail.pem");
        Files.write(file, pem.toByteArray());
        return file;
    }
}
