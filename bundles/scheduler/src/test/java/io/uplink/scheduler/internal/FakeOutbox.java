package io.uplink.scheduler.internal;

import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

/** An outbox holding message records only; {@code size} may be set apart from the list to test minWaiting. */
final class FakeOutbox implements Outbox {
    int size;
    final List<QueuedMessage> messages = new ArrayList<>();

    void add(String id, boolean priority) {
        messages.add(new QueuedMessage(id, "a@example.net", List.of("b@example.net"), 100, Instant.EPOCH, 0, null,
                null, priority));
        size = messages.size();
    }

    @Override
    public QueuedMessage queue(String from, List<String> recipients, InputStream message) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public List<QueuedMessage> list() {
        return List.copyOf(messages);
    }

    @Override
    public Optional<QueuedMessage> get(String id) {
        return messages.stream().filter(m -> m.id().equals(id)).findFirst();
    }

    @Override
    public InputStream open(String id) {
        throw new UnsupportedOperationException();
    }

    @Override
    public boolean retry(String id) {
        return false;
    }

    @Override
    public int retryAll() {
        return 0;
    }

    @Override
    public boolean delete(String id) {
        return false;
    }
}
