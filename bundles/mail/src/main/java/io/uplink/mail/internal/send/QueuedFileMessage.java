package io.uplink.mail.internal.send;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import io.uplink.mail.internal.outbox.FileOutbox.Envelope;

import jakarta.mail.Session;

import org.eclipse.angus.mail.smtp.SMTPMessage;

/**
 * A queued message handed to Jakarta Mail's SMTP transport: it writes the queued file's bytes as they are
 * (never parsed, never re-encoded), so multipart and 8-bit messages go out byte-identical. The transport
 * only adds SMTP's dot-stuffing and CRLF line ends on the wire.
 */
final class QueuedFileMessage extends SMTPMessage {

    /** Messages up to this size are read once into memory, for the 8-bit check and the sending alike. */
    private static final long IN_MEMORY = 256 * 1024;

    private final Path file;
    private final byte[] bytes;

    QueuedFileMessage(Session session, Envelope env, String envelopeFrom) throws IOException {
        super(session);
        this.file = env.body();
        // a body held in memory (the database store) is sent from there
        this.bytes = env.content() != null ? env.content() : env.size() <= IN_MEMORY ? Files.readAllBytes(file) : null;
        // an empty sender is the null reverse path <> (bounces)
        setEnvelopeFrom(envelopeFrom == null || envelopeFrom.isEmpty() ? "<>" : envelopeFrom);
        // with some recipients refused, still send to the others
        setSendPartial(true);
    }

    @Override
    public void writeTo(OutputStream os) throws IOException {
        copy(os);
    }

    @Override
    public void writeTo(OutputStream os, String[] ignoreList) throws IOException {
        copy(os);
    }

    private void copy(OutputStream os) throws IOException {
        if (bytes != null) {
            os.write(bytes);
            return;
        }
        try (InputStream in = Files.newInputStream(file)) {
            in.transferTo(os);
        }
    }

    /** Whether the message holds bytes above 127 (it then needs {@code BODY=8BITMIME}). */
    boolean eightBit() throws IOException {
        if (bytes != null) {
            return eightBit(bytes, bytes.length);
        }
        byte[] buf = new byte[65536];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (eightBit(buf, n)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean eightBit(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] < 0) {
                return true;
            }
        }
        return false;
    }
}
