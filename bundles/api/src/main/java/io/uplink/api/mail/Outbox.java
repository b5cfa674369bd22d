package io.uplink.api.mail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * The outgoing queue. A message is stored durably before {@link #queue} returns and leaves the queue
 * only after the server accepted it.
 */
public interface Outbox {

    /**
     * Queues an RFC 5322 message.
     *
     * @param from the envelope sender, or {@code null} to take it from the Sender/From header
     * @param recipients the envelope recipients, or empty to take them from To/Cc/Bcc
     * @throws IOException also when the message is not RFC 5322 mail or names no sender or recipient
     *         (a Bcc header is always stripped: it never reaches a server)
     */
    QueuedMessage queue(String from, List<String> recipients, InputStream message) throws IOException;

    /**
     * Queues an RFC 5322 message held in memory, as {@link #queue}, but committed to disk together with the
     * messages other threads submit at the same moment (a group commit: one forced write for the group
     * instead of several per message). Durable when it returns, as {@link #queue}.
     *
     * @since 1.2
     */
    default QueuedMessage submit(String from, List<String> recipients, byte[] message) throws IOException {
        return queue(from, recipients, new ByteArrayInputStream(message));
    }

    /**
     * Bytes still free for the queue on its disk, so that a listener can refuse mail (452) before the disk is
     * full rather than half-way through a message.
     *
     * @since 1.2
     */
    default long usableSpace() throws IOException {
        return Long.MAX_VALUE;
    }

    /** Messages waiting to be sent. */
    int size();

    /** The waiting messages, oldest first. */
    List<QueuedMessage> list();

    /** One waiting message. */
    Optional<QueuedMessage> get(String id);

    /** The raw message. */
    InputStream open(String id) throws IOException;

    /** Makes a waiting message due at the next firing; false when there is no such message. */
    boolean retry(String id);

    /** Makes every waiting message due at the next firing; returns how many. */
    int retryAll();

    /** Removes a waiting message without sending it; false when there is no such message. */
    boolean delete(String id);
}
