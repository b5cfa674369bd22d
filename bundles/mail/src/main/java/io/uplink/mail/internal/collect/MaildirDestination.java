package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.uplink.mail.internal.ledger.UidLedger;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Maildir;

/**
 * Delivery into the local Maildirs. Each file is forced on a small pool of threads while the next messages
 * are fetched; a batch's Maildir directories are forced once, and only then is the batch recorded in the
 * ledger.
 */
final class MaildirDestination implements Destination {

    /** Messages per directory sync and ledger record (and at most this many files open at once). */
    static final int BATCH = 64;
    /**
     * Threads that force message files while the next messages are fetched. One fsync waits for the disk
     * (0.2 ms on an idle disk, several ms on a busy one) while several at once cost hardly more than one.
     */
    private static final int FSYNC_THREADS = 4;

    private final Path mailboxes;
    private final Clock clock;
    private final ExecutorService fsyncs;
    private final Map<String, Maildir> maildirs = new HashMap<>();
    private final Set<Maildir> unsynced = new LinkedHashSet<>();
    private final List<Stored> batch = new ArrayList<>();
    private int failed;

    /** A message of the current batch: its deliveries are completing (forced, renamed) on the fsync threads. */
    private record Stored(String uid, long size, List<Future<Path>> deliveries) {
    }

    MaildirDestination(String collectorId, Path mailboxes, Clock clock) {
        this.mailboxes = mailboxes;
        this.clock = clock;
        this.fsyncs = Executors.newFixedThreadPool(FSYNC_THREADS, r -> {
            Thread f = new Thread(r, "uplink-collector-" + collectorId + "-fsync");
            f.setDaemon(true);
            return f;
        });
    }

    @Override
    public void deliver(UidLedger ledger, String uid, long size, List<Router.Recipient> recipients, Router.Headers headers,
            Maildir.Writer bytes) throws IOException {
        List<String> boxes = new ArrayList<>(recipients.size());
        for (Router.Recipient r : recipients) {
            boxes.add(r.mailbox());
        }
        String unique = Maildir.uniqueName();
        ledger.intend(uid, size, unique, boxes);
        List<Maildir.Delivery> written = new ArrayList<>(boxes.size());
        try {
            Maildir.Delivery first = maildir(boxes.get(0)).write(unique, bytes);
            written.add(first);
            for (String other : boxes.subList(1, boxes.size())) {
                try (InputStream in = Files.newInputStream(first.temp())) {
                    written.add(maildir(other).write(unique, in::transferTo));
                }
            }
        } catch (IOException | RuntimeException e) {
            for (Maildir.Delivery d : written) {
                d.abandon();
            }
            throw e;
        }
        List<Future<Path>> completing = new ArrayList<>(written.size());
        for (Maildir.Delivery d : written) {
            completing.add(fsyncs.submit(d::complete));
        }
        for (String b : boxes) {
            unsynced.add(maildir(b));
        }
        batch.add(new Stored(uid, size, completing));
    }

    @Override
    public boolean full() {
        return batch.size() >= BATCH;
    }

    /** Waits until every file of the batch is forced and in {@code new/}, makes the renames durable, then records. */
    @Override
    public List<Deferred> commit(UidLedger ledger) throws IOException {
        List<Stored> durable = new ArrayList<>(batch.size());
        IOException failure = null;
        for (Stored s : batch) {
            try {
                for (Future<Path> f : s.deliveries) {
                    f.get();
                }
                durable.add(s);
            } catch (ExecutionException e) {
                failed++;
                if (failure == null) {
                    failure = e.getCause() instanceof IOException io ? io
                            : new IOException("storing message " + s.uid + ": " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while storing messages");
            }
        }
        batch.clear();
        for (Maildir m : unsynced) {
            m.sync();
        }
        unsynced.clear();
        Instant now = clock.instant();
        for (Stored s : durable) {
            ledger.stored(s.uid, s.size, now);
        }
        if (failure != null) {
            throw failure;
        }
        return List.of();
    }

    @Override
    public int failed() {
        return failed;
    }

    private Maildir maildir(String mailbox) throws IOException {
        Maildir m = maildirs.get(mailbox);
        if (m == null) {
            m = Maildir.open(mailboxes.resolve(mailbox));
            maildirs.put(mailbox, m);
        }
        return m;
    }

    @Override
    public void close() {
        fsyncs.shutdownNow();
    }
}
