package io.uplink.mail.internal.outbox;

import io.uplink.mail.internal.outbox.FileOutbox.Prepared;
import io.uplink.mail.internal.store.Maildir;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox's group commit for messages submitted in memory ({@link FileOutbox#submit}).
 *
 * <p>The <em>committer</em> thread takes every message waiting at that moment, writes them all into one
 * batch file {@code outbox/intake/<id>.batch}, forces it, and only then lets their callers return (the
 * submission listener answers 250 then): one fsync for the whole group instead of four per message. The
 * batch files are created empty ahead of time by the installer, and their names made durable with its force
 * of the folder, so a commit needs no force of the folder (only when no spare is ready). The <em>installer</em> thread then writes each message into {@code queue/} as
 * {@link FileOutbox#queue} would (files forced, folder forced once per group), deletes the batch file,
 * forces the folder, and only then shows the messages to the senders — so a message can never be sent
 * while its batch file still exists, and a crash at any moment leaves it either in the batch or in the
 * queue. {@link #recover} installs what a crash left in batch files, skipping what reached the queue.
 */
final class IntakeBatches {

    private static final Logger LOG = LoggerFactory.getLogger(IntakeBatches.class);
    private static final int MAGIC = 0x55504c31;
    private static final int MAX_GROUP = 1024;
    private static final int SPARES = 64;
    private static final long MAX_GROUP_BYTES = 32L << 20;

    private record Waiting(Prepared prepared, CompletableFuture<Void> done) {
    }

    private record Batch(Path file, List<Prepared> group) {
    }

    private final FileOutbox outbox;
    private final Path dir;
    private final BlockingQueue<Waiting> waiting = new LinkedBlockingQueue<>();
    // committed batches waiting to be installed; bounded, so a slow disk slows the 250s instead of the heap
    private final BlockingQueue<Batch> committed = new LinkedBlockingQueue<>(16);
    // empty batch files whose names are already durable in the folder, so a commit forces only its file
    private final BlockingQueue<Path> spares = new LinkedBlockingQueue<>();
    // forces the installed files, four at a time
    private final java.util.concurrent.ExecutorService forcing = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "uplink-outbox-force");
        t.setDaemon(true);
        return t;
    });
    private final Thread committer;
    private final Thread installer;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicLong groups = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong messages = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong folderForces = new java.util.concurrent.atomic.AtomicLong();

    IntakeBatches(FileOutbox outbox, Path dir) throws IOException {
        this.outbox = outbox;
        this.dir = dir;
        Files.createDirectories(dir);
        committer = new Thread(this::commitLoop, "uplink-outbox-commit");
        installer = new Thread(this::installLoop, "uplink-outbox-install");
        committer.setDaemon(true);
        installer.setDaemon(true);
        committer.start();
        installer.start();
    }

    /** Returns once the message is durable in a batch file. */
    void commit(Prepared p) throws IOException {
        if (closed) {
            throw new IOException("the outbox is stopping");
        }
        Waiting w = new Waiting(p, new CompletableFuture<>());
        waiting.add(w);
        try {
            w.done().get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new IOException(String.valueOf(c.getMessage()), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the message was being committed; it may or may not be queued");
        }
    }

    /**
     * For the benchmark: groups committed so far, the messages in them, and the forces of the folder on the 250
     * path (when no spare was ready); fsyncs on the 250 path = groups + folder forces.
     */
    long[] stats() {
        return new long[] {groups.get(), messages.get(), folderForces.get()};
    }

    void close() {
        closed = true;
        committer.interrupt();
        try {
            committer.join(10_000);
            installer.interrupt();
            installer.join(10_000);
            forcing.shutdownNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Waiting w; (w = waiting.poll()) != null;) {
            w.done().completeExceptionally(new IOException("the outbox is stopping"));
        }
    }

    private void commitLoop() {
        while (!closed) {
            List<Waiting> group = new ArrayList<>();
            try {
                group.add(waiting.take());
            } catch (InterruptedException e) {
                return;
            }
            long bytes = group.get(0).prepared().body().length;
            for (Waiting w; group.size() < MAX_GROUP && bytes < MAX_GROUP_BYTES && (w = waiting.poll()) != null;) {
                group.add(w);
                bytes += w.prepared().body().length;
            }
            List<Prepared> prepared = new ArrayList<>(group.size());
            group.forEach(w -> prepared.add(w.prepared()));
            Path file = spares.poll();
            try {
                if (file == null) {
                    file = newSpare();
                    Maildir.force(dir);
                    folderForces.incrementAndGet();
                }
                write(file, prepared);
                groups.incrementAndGet();
                messages.addAndGet(prepared.size());
                committed.put(new Batch(file, prepared));
            } catch (IOException | RuntimeException e) {
                LOG.error("Cannot commit {} submitted message(s) to {}: {}", group.size(), dir, e.toString());
                if (file != null) {
                    deleteQuietly(file);
                }
                group.forEach(w -> w.done().completeExceptionally(e instanceof IOException io ? io : new IOException(e)));
                continue;
            } catch (InterruptedException e) {
                // the batch is durable: its messages are queued; the next start installs them
                group.forEach(w -> w.done().complete(null));
                return;
            }
            group.forEach(w -> w.done().complete(null));
        }
    }

    private Path newSpare() throws IOException {
        Path f = dir.resolve(FileOutbox.newId() + ".batch");
        Files.createFile(f);
        return f;
    }

    private void installLoop() {
        try {
            List<Path> fresh = newSpares();
            Maildir.force(dir);
            spares.addAll(fresh);
        } catch (IOException e) {
            LOG.warn("Cannot prepare batch files in {}: {}", dir, e.toString());
        }
        while (true) {
            List<Batch> batches = new ArrayList<>();
            try {
                batches.add(committed.take());
            } catch (InterruptedException e) {
                if (closed && committed.isEmpty()) {
                    return;
                }
                continue;
            }
            committed.drainTo(batches);
            try {
                List<Path> fresh = newSpares();
                install(outbox, dir, batches, forcing);
                // only now, with the folder forced, are their names durable
                spares.addAll(fresh);
            } catch (IOException | RuntimeException e) {
                LOG.error("Cannot move {} committed batch(es) from {} into the queue ({}); they stay there and are "
                        + "moved at the next start", batches.size(), dir, e.toString());
            }
        }
    }

    /** Empty batch files up to {@link #SPARES}; usable once the folder was forced after their creation. */
    private List<Path> newSpares() throws IOException {
        List<Path> fresh = new ArrayList<>();
        for (int i = spares.size(); i < SPARES && !closed; i++) {
            fresh.add(newSpare());
        }
        return fresh;
    }

    private static void install(FileOutbox outbox, Path dir, List<Batch> batches,
            java.util.concurrent.ExecutorService forcing) throws IOException {
        List<Prepared> all = new ArrayList<>();
        batches.forEach(b -> all.addAll(b.group()));
        outbox.install(all, forcing);
        for (Batch b : batches) {
            Files.deleteIfExists(b.file());
        }
        Maildir.force(dir);
        outbox.register(all);
    }

    /** Installs what a crash left in batch files (messages already in the queue are skipped). */
    static void recover(FileOutbox outbox, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        List<Batch> batches = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.batch")) {
            for (Path f : ds) {
                List<Prepared> group = new ArrayList<>();
                for (Prepared p : read(outbox, f)) {
                    if (!outbox.known(p.entry().id)) {
                        group.add(p);
                    }
                }
                batches.add(new Batch(f, group));
            }
        }
        if (!batches.isEmpty()) {
            java.util.concurrent.ExecutorService forcing = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                install(outbox, dir, batches, forcing);
            } finally {
                forcing.shutdown();
            }
            int n = batches.stream().mapToInt(b -> b.group().size()).sum();
            LOG.info("Outbox: {} submitted message(s) from {} batch file(s) moved into the queue after a restart", n,
                    batches.size());
        }
    }

    static void write(Path file, List<Prepared> group) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16));
            for (Prepared p : group) {
                FileOutbox.Entry e = p.entry();
                out.writeInt(MAGIC);
                out.writeUTF(e.id);
                out.writeUTF(e.from);
                out.writeInt(e.recipients.size());
                for (String r : e.recipients.keySet()) {
                    out.writeUTF(r);
                }
                out.writeLong(e.queued.toEpochMilli());
                out.writeBoolean(e.priority);
                out.writeInt(p.body().length);
                out.write(p.body());
            }
            out.flush();
            ch.force(true);
        }
    }

    /** The complete records of a batch file; a torn end (its write was never forced, nobody got a 250) is dropped. */
    private static List<Prepared> read(FileOutbox outbox, Path file) throws IOException {
        List<Prepared> out = new ArrayList<>();
        long size = Files.size(file);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            while (true) {
                if (in.readInt() != MAGIC) {
                    LOG.warn("Batch file {}: unreadable record after {} message(s); the rest was never acknowledged", file,
                            out.size());
                    break;
                }
                String id = in.readUTF();
                String from = in.readUTF();
                int n = in.readInt();
                if (n < 0 || n > 100_000) {
                    break;
                }
                List<String> rcpts = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    rcpts.add(in.readUTF());
                }
                Instant queued = Instant.ofEpochMilli(in.readLong());
                boolean priority = in.readBoolean();
                int length = in.readInt();
                if (length < 0 || length > size) {
                    break;
                }
                byte[] body = in.readNBytes(length);
                if (body.length < length) {
                    break;
                }
                out.add(new Prepared(outbox.restored(id, from, rcpts, length, priority, queued), body));
            }
        } catch (EOFException e) {
            // torn end
        }
        return out;
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            LOG.warn("Cannot delete {}: {}", f, e.toString());
        }
    }
}
