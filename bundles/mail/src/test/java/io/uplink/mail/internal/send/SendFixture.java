package io.uplink.mail.internal.send;

import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.SendReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.testsupport.MovableClock;
import io.uplink.mail.internal.outbox.FileOutbox;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** A queue in a temporary folder, a clock the test moves, and a sender built from cfg-like properties. */
final class SendFixture {

    /** A firing's context; the test can pull the link down. */
    static class Context implements TaskContext {
        final AtomicBoolean up = new AtomicBoolean(true);
        volatile int progressCalls;
        volatile String lastProgress;

        @Override
        public String connectionId() {
            return "test";
        }

        @Override
        public String connectionName() {
            return "Test connection";
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
            progressCalls++;
            lastProgress = message + " " + done + " of " + total;
        }
    }

    final Path dir;
    final MovableClock clock = new MovableClock(Instant.parse("2025-03-01T10:00:00Z"));
    final FileOutbox outbox;
    final Path postmaster;

    SendFixture(Path dir) throws IOException {
        this.dir = dir;
        this.postmaster = dir.resolve("mailboxes/postmaster");
        this.outbox = new FileOutbox(dir.resolve("outbox"), postmaster, clock, FileOutbox.Retry.DEFAULT);
    }

    SmtpSender sender(String id, String... keyValues) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.sender~" + id);
        p.put("felix.fileinstall.filename", "file:/etc/io.uplink.sender-" + id + ".cfg");
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put(keyValues[i], keyValues[i + 1]);
        }
        return new SmtpSender(outbox, p);
    }

    SendReport fire(SmtpSender sender) throws InterruptedException {
        return sender.send(new Context());
    }

    QueuedMessage queue(String message) throws IOException {
        return outbox.queue(null, List.of(), new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8)));
    }

    QueuedMessage queue(byte[] message) throws IOException {
        return outbox.queue(null, List.of(), new ByteArrayInputStream(message));
    }

    static String message(String from, String to, String subject, String body) {
        return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject.hashCode()
                + "." + System.nanoTime() + "@test>\r\n\r\n" + body + "\r\n";
    }

    /** Messages in the postmaster's Maildir. */
    List<Path> bounces() throws IOException {
        Path fresh = postmaster.resolve("new");
        if (!Files.isDirectory(fresh)) {
            return List.of();
        }
        try (var s = Files.list(fresh)) {
            return s.sorted().toList();
        }
    }

    /** GreenMail's self-signed certificate as a PEM file: what a user puts into trust.file. */
    static Path greenMailCertificatePem(Path dir) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = SendFixture.class.getClassLoader().getResourceAsStream("greenmail.p12")) {
            ks.load(in, "changeit".toCharArray());
        }
        Certificate c = ks.getCertificate(ks.aliases().nextElement());
        String pem = "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(c.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
        Path f = dir.resolve("greenmail.pem");
        Files.writeString(f, pem);
        return f;
    }
}
