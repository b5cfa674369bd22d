package io.uplink.web.internal;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Keeps what was queued, in memory, so a test can read the notices. */
final class RecordingOutbox implements Outbox {

    record Queued(String from, List<String> to, String text) {
    }

    final List<Queued> queued = new ArrayList<>();

    @Override
    public QueuedMessage queue(String from, List<String> recipients, InputStream message) throws IOException {
        queued.add(new Queued(from, List.copyOf(recipients), new String(message.readAllBytes(), StandardCharsets.UTF_8)));
        return new QueuedMessage(String.valueOf(queued.size()), from, recipients, 0, Instant.EPOCH, 0, null, null, false);
    }

    @Override
    public int size() {
        return queued.size();
    }

    @Override
    public List<QueuedMessage> list() {
        return List.of();
    }

    @Override
    public Optional<QueuedMessage> get(String id) {
        return Optional.empty();
    }

    @Override
    public InputStream open(String id) throws IOException {
        throw new IOException("not kept");
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
