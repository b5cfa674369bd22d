package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

import io.uplink.mail.internal.ledger.Ledger;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Fsyncs;
import io.uplink.mail.internal.store.Maildir;

/**
 * Delivery into the local Maildirs. Each file is forced on a small pool of threads (shared by all collector
 * runs) while the next messages are fetched; a batch's Maildir directories are forced once (on a sealing
 * thread, while the next batch is fetched), and only then is the batch recorded in the ledger, in one record.
 */
final class MaildirDestination implements Destination {

    /** Messages per directory sync and ledger record (and at most twice this many files open at once). */
    static final int BATCH = 64;
    /**
     * Threads that force message files while the next messages are fetched, shared by every collector run.
     * One fsync waits for the disk (0.2 ms on an idle disk, several ms on a busy one) while several at once
     * cost hardly more than one. Shared rather than four per run: with a thousand runs of ten messages each,
     * starting and ending five threads per run (and waking them per file) cost more CPU than the fsyncs.
     */
    static final int FSYNC_THREADS = 8;
    private static final ThreadPoolExecutor FSYNCS = Fsyncs.pool("uplink-collector-fsync-", FSYNC_THREADS);
    /**
     * Seals the batches handed over by {@link #commitEarlier}: a sealing waits for its files, so each run's
     * sealing needs a thread of its own for a while; the threads are kept for the next runs.
     */
    private static final ThreadPoolExecutor SEALERS = Fsyncs.pool("uplink-collector-seal-", Integer.MAX_VALUE);
    /**
     * Runs delivering into Maildirs now. With at least {@link #FSYNC_THREADS} of them side by side, their own
     * threads force their files: the runs give the disk as many fsyncs at once as the shared threads would, and
     * handing each file to another thread (a wake-up per message) only cost CPU.
     */
    private static final AtomicInteger RUNS = new AtomicInteger();

    private final Path mailboxes;
    private final Clock clock;
    private final Map<String, Maildir> maildirs = new HashMap<>();
    private final Set<Maildir> unsynced = new LinkedHashSet<>();
    private final List<Stored> batch = new ArrayList<>();
    /** The batch being sealed, not yet recorded. */
    private Future<Sealed> sealing;
    private int failed;

    /** A message of the current batch: its deliveries are completing (forced, renamed) on the fsync threads. */
    private record Stored(String uid, long size, List<Future<Path>> deliveries) {
    }

    MaildirDestination(String collectorId, Path mailboxes, Clock clock) {
        this.mailboxes = mailboxes;
        this.clock = clock;
        RUNS.incrementAndGet();
    }

    @Override
    public void deliver(Ledger ledger, String uid, long size, List<Router.Recipient> recipients, Router.Headers headers,
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
        boolean inline = RUNS.get() >= FSYNC_THREADS;
        for (Maildir.Delivery d : written) {
            if (inline) {
                FutureTask<Path> here = new FutureTask<>(d::complete);
                here.run();
                completing.add(here);
            } else {
                completing.add(FSYNCS.submit(d::complete));
            }
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

    /**
     * Hands the batch to the sealing thread (which waits for its files, then forces its Maildir directories)
     * and records the batch handed over before, whose sealing has had a whole batch's fetching to finish. So
     * the disk and the server work at the same time; a batch is recorded only once it is durable.
     */
    @Override
    public List<Deferred> commitEarlier(Ledger ledger) throws IOException {
        Future<Sealed> previous = sealing;
        sealing = null;
        IOException failure = null;
        try {
            record(ledger, previous);
        } catch (IOException e) {
            failure = e;
        }
        if (!batch.isEmpty()) {
            List<Stored> b = new ArrayList<>(batch);
            List<Maildir> dirs = new ArrayList<>(unsynced);
            batch.clear();
            unsynced.clear();
            sealing = SEALERS.submit(() -> seal(b, dirs));
        }
        if (failure != null) {
            throw failure;
        }
        return List.of();
    }

    /** Waits until every file delivered so far is forced and in {@code new/}, makes the renames durable, then records. */
    @Override
    public List<Deferred> commit(Ledger ledger) throws IOException {
        Future<Sealed> previous = sealing;
        sealing = null;
        record(ledger, previous);
        if (!batch.isEmpty()) {
            // the last batch is sealed on this thread: handing it to a sealing thread only to wait for it cost a
            // thread wake-up per collector run
            List<Stored> b = new ArrayList<>(batch);
            List<Maildir> dirs = new ArrayList<>(unsynced);
            FutureTask<Sealed> last = new FutureTask<>(() -> seal(b, dirs));
            batch.clear();
            unsynced.clear();
            last.run();
            record(ledger, last);
        }
        return List.of();
    }

    /** What sealing a batch found: the messages now durable, and the first failure (the others are not recorded). */
    private record Sealed(List<Stored> durable, int failed, IOException failure) {
    }

    /** On the sealing thread: waits for the batch's files, then forces the directories they were renamed into. */
    private static Sealed seal(List<Stored> batch, List<Maildir> dirs) throws IOException, InterruptedException {
        List<Stored> durable = new ArrayList<>(batch.size());
        IOException failure = null;
        int failed = 0;
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
            }
        }
        for (Maildir m : dirs) {
            m.sync();
        }
        return new Sealed(durable, failed, failure);
    }

    /** Waits for a sealed batch and records its durable messages in the ledger, in one record. */
    private void record(Ledger ledger, Future<Sealed> sealed) throws IOException {
        if (sealed == null) {
            return;
        }
        Sealed s;
        try {
            s = sealed.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while storing messages");
        } catch (ExecutionException e) {
            // the directory could not be forced: none of the batch may count as stored
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new IOException("storing messages: " + c, c);
        }
        failed += s.failed();
        Map<String, Long> records = new LinkedHashMap<>();
        for (Stored d : s.durable()) {
            records.put(d.uid, d.size);
        }
        ledger.stored(records, clock.instant());
        if (s.failure() != null) {
            throw s.failure();
        }
    }

    @Override
    public int failed() {
        return failed;
    }

    private Maildir maildir(String mailbox) throws IOException {
        Maildir m = maildirs.get(mailbox);
        if (m == null) {
            // a new Maildir's folders are forced on the shared threads while its first messages are fetched; the
            // batch's sealing (Maildir.sync) waits for that
            m = Maildir.open(mailboxes.resolve(mailbox), true);
            maildirs.put(mailbox, m);
        }
        return m;
    }

    /**
     * Waits for what this run handed to the shared threads (a run that failed midway leaves files completing):
     * the collector's next run must not find a delivery still under way when its ledger settles the open ones.
     */
    @Override
    public void close() {
        RUNS.decrementAndGet();
        List<Future<?>> open = new ArrayList<>();
        for (Stored s : batch) {
            open.addAll(s.deliveries);
        }
        if (sealing != null) {
            open.add(sealing);
        }
        for (Future<?> f : open) {
            awaitEnd(f);
        }
    }

    /** Waits until {@code f} is over, whatever its outcome; an interrupt meanwhile is kept for the caller. */
    static void awaitEnd(Future<?> f) {
        if (f == null) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
