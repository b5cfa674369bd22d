package io.uplink.testsupport;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The outgoing queue in memory: what is queued is kept with its raw text, retries and deletes are recorded. It
 * checks nothing a real outbox checks (no parsing, no Bcc stripping). {@link #setSize(int)} makes {@link #size()}
 * report a count apart from the messages held, for code that only looks at the count.
 */
public final class MemoryOutbox implements Outbox {

    private final Map<String, QueuedMessage> messages = new LinkedHashMap<>();
    private final Map<String, byte[]> bodies = new LinkedHashMap<>();
    private final List<String> retried = new ArrayList<>();
    private Integer size;
    private String lastFrom = "unset";
    private List<String> lastRecipients;
    private int ids;

    /** Puts a message in as if queued earlier, with its raw text. */
    public synchronized MemoryOutbox put(QueuedMessage m, String raw) {
        messages.put(m.id(), m);
        bodies.put(m.id(), raw.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** Puts in a small message from a@example.net to b@example.net, urgent or not. */
    public MemoryOutbox add(String id, boolean priority) {
        return put(new QueuedMessage(id, "a@example.net", List.of("b@example.net"), 100, Instant.EPOCH, 0, null, null,
                priority), "Subject: " + id + "\r\n\r\nbody\r\n");
    }

    /** What {@link #size()} reports from now on, whatever is held. */
    public synchronized MemoryOutbox setSize(int size) {
        this.size = size;
        return this;
    }

    /** The raw bytes of a message held, or {@code null}. */
    public synchronized byte[] raw(String id) {
        byte[] raw = bodies.get(id);
        return raw == null ? null : raw.clone();
    }

    /** The raw text of a message held, or {@code null}. */
    public String text(String id) {
        byte[] raw = raw(id);
        return raw == null ? null : new String(raw, StandardCharsets.UTF_8);
    }

    /** The envelope sender of the last {@link #queue} call ({@code "unset"} before one). */
    public synchronized String lastFrom() {
        return lastFrom;
    }

    /** The envelope recipients of the last {@link #queue} call. */
    public synchronized List<String> lastRecipients() {
        return lastRecipients;
    }

    /** The ids given to {@link #retry} and {@link #retryAll}, in order. */
    public synchronized List<String> retried() {
        return List.copyOf(retried);
    }

    @Override
    public synchronized QueuedMessage queue(String from, List<String> recipients, InputStream message)
            throws IOException {
        lastFrom = from;
        lastRecipients = recipients;
        byte[] raw = message.readAllBytes();
        QueuedMessage m = new QueuedMessage("q" + (++ids), from == null ? "from-header@example" : from, recipients,
                raw.length, Instant.EPOCH, 0, null, null, false);
        messages.put(m.id(), m);
        bodies.put(m.id(), raw);
        return m;
    }

    @Override
    public synchronized int size() {
        return size != null ? size : messages.size();
    }

    @Override
    public synchronized List<QueuedMessage> list() {
        return new ArrayList<>(messages.values());
    }

    @Override
    public synchronized Optional<QueuedMessage> get(String id) {
        return Optional.ofNullable(messages.get(id));
    }

    @Override
    public synchronized InputStream open(String id) throws IOException {
        byte[] raw = bodies.get(id);
        if (raw == null) {
            throw new IOException("no message " + id);
        }
        return new ByteArrayInputStream(raw);
    }

    @Override
    public synchronized boolean retry(String id) {
        if (!messages.containsKey(id)) {
            return false;
        }
        retried.add(id);
        return true;
    }

    @Override
    public synchronized int retryAll() {
        retried.addAll(messages.keySet());
        return messages.size();
    }

    @Override
    public synchronized boolean delete(String id) {
        bodies.remove(id);
        return messages.remove(id) != null;
    }
}
