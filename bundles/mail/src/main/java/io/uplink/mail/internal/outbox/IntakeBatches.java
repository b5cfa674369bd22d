package io.uplink.mail.internal.outbox;

import io.uplink.mail.internal.outbox.FileOutbox.Prepared;
import io.uplink.mail.internal.store.Maildir;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox's group commit for messages taken in memory ({@link FileOutbox#submit}, the pickup folder).
 *
 * <p>The <em>committer</em> thread takes every message waiting at that moment, writes them all into one
 * batch file {@code outbox/intake/<id>.batch}, forces it, and only then lets their callers return (the
 * submission listener answers 250 then, the pickup folder removes the files): one fsync for the whole group.
 * The batch files are created empty ahead of time by the installer, and their names made durable with its
 * force of the folder, so a commit needs no force of the folder (only when no spare is ready).
 *
 * <p>The <em>installer</em> thread then writes each message into {@code queue/} <em>without forcing</em>
 * anything and shows it to the senders. The batch file stays the durable copy until every one of its messages
 * has left the queue (sent, failed or deleted): each departure appends the message's id to the batch's done-log
 * {@code <id>.done}, and the last one deletes the batch file, then the done-log. So no message costs an fsync
 * of its own on the way in. {@link #recover} (at start, before the queue is loaded) makes every message of a
 * batch file that its done-log does not name durable in {@code queue/} (body rewritten from the batch and
 * forced, state kept when readable, else written from the batch) and then deletes the batch and its log.
 */
final class IntakeBatches {

    private static final Logger LOG = LoggerFactory.getLogger(IntakeBatches.class);
    private static final int MAGIC = 0x55504c31;
    private static final int MAX_GROUP = 1024;
    private static final int SPARES = 64;
    private static final long MAX_GROUP_BYTES = 32L << 20;

    private record Waiting(List<Prepared> prepared, CompletableFuture<Void> done, CompletableFuture<Void> installed) {
        long bytes() {
            long n = 0;
            for (Prepared p : prepared) {
                n += p.body().length;
            }
            return n;
        }
    }

    private record Batch(Path file, List<Prepared> group, List<Waiting> callers) {
    }

    /** A batch installed in the queue, kept until its last message left the queue. */
    private static final class Live {
        final Path file;
        final Path doneLog;
        final Set<String> left = new HashSet<>();

        Live(Path file) {
            this.file = file;
            this.doneLog = doneLog(file);
        }
    }

    private final FileOutbox outbox;
    private final Path dir;
    private final BlockingQueue<Waiting> waiting = new LinkedBlockingQueue<>();
    // committed batches waiting to be installed; bounded, so a slow disk slows the 250s instead of the heap
    private final BlockingQueue<Batch> committed = new LinkedBlockingQueue<>(16);
    // empty batch files whose names are already durable in the folder, so a commit forces only its file
    private final BlockingQueue<Path> spares = new LinkedBlockingQueue<>();
    // message id -> its live batch
    private final Map<String, Live> live = new ConcurrentHashMap<>();
    private final Thread committer;
    private final Thread installer;
    private volatile boolean closed;
    private final AtomicLong groups = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong folderForces = new AtomicLong();

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
        commit(List.of(p), false);
    }

    /**
     * Returns once all the messages are durable in one batch file (a group is never split) and, with
     * {@code visible}, also shown to the senders (in the queue, or left for the next start when that failed).
     */
    void commit(List<Prepared> group, boolean visible) throws IOException {
        if (closed) {
            throw new IOException("the outbox is stopping");
        }
        Waiting w = new Waiting(group, new CompletableFuture<>(), new CompletableFuture<>());
        waiting.add(w);
        try {
            w.done().get();
            if (visible) {
                w.installed().get();
            }
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
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Waiting w; (w = waiting.poll()) != null;) {
            w.done().completeExceptionally(new IOException("the outbox is stopping"));
        }
        for (Batch b; (b = committed.poll()) != null;) {
            // durable, installed at the next start
            b.callers().forEach(w -> w.installed().complete(null));
        }
    }

    /**
     * A message left the queue for good (sent, failed, deleted): its id goes into its batch's done-log, and the
     * batch file and its log go once all of its messages left. Not forced: a crash that loses the line (a power
     * failure, not a killed process) makes the next start queue that message again — sent twice, never lost.
     */
    void done(String id) {
        Live l = live.remove(id);
        if (l == null) {
            return;
        }
        synchronized (l) {
            try (FileChannel ch = FileChannel.open(l.doneLog, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ByteBuffer line = ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.US_ASCII));
                while (line.hasRemaining()) {
                    ch.write(line);
                }
                l.left.remove(id);
                if (l.left.isEmpty()) {
                    // the batch first: a done-log without its batch means nothing and is removed at start
                    Files.deleteIfExists(l.file);
                    Files.deleteIfExists(l.doneLog);
                }
            } catch (IOException e) {
                LOG.warn("Cannot note in {} that message {} left the queue ({}); a restart queues it again", l.doneLog,
                        id, e.toString());
            }
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
            long bytes = group.get(0).bytes();
            int count = group.get(0).prepared().size();
            for (Waiting w; count < MAX_GROUP && bytes < MAX_GROUP_BYTES && (w = waiting.poll()) != null;) {
                group.add(w);
                bytes += w.bytes();
                count += w.prepared().size();
            }
            List<Prepared> prepared = new ArrayList<>(count);
            group.forEach(w -> prepared.addAll(w.prepared()));
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
                committed.put(new Batch(file, prepared, group));
            } catch (IOException | RuntimeException e) {
                LOG.error("Cannot commit {} submitted message(s) to {}: {}", prepared.size(), dir, e.toString());
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
            for (Batch b : batches) {
                try {
                    outbox.install(b.group());
                    Live l = new Live(b.file());
                    synchronized (l) {
                        for (Prepared p : b.group()) {
                            l.left.add(p.entry().id);
                            live.put(p.entry().id, l);
                        }
                    }
                    outbox.register(b.group());
                } catch (IOException | RuntimeException e) {
                    LOG.error("Cannot move the {} message(s) of {} into the queue ({}); they stay there and are "
                            + "moved at the next start", b.group().size(), b.file(), e.toString());
                }
                b.callers().forEach(w -> w.installed().complete(null));
            }
            try {
                if (spares.size() < SPARES / 2) {
                    List<Path> fresh = newSpares();
                    Maildir.force(dir);
                    // only now, with the folder forced, are their names durable
                    spares.addAll(fresh);
                }
            } catch (IOException e) {
                LOG.warn("Cannot prepare batch files in {}: {}", dir, e.toString());
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

    static Path doneLog(Path batch) {
        String n = batch.getFileName().toString();
        return batch.resolveSibling(n.substring(0, n.length() - ".batch".length()) + ".done");
    }

    /**
     * At start, before the queue is loaded: every message of a batch file that its done-log does not name (and
     * that is not in {@code failed/} or {@code removed/}) is made durable in {@code queue/}; then the batch file and its done-log go.
     * Done-logs without their batch file, and empty spares, are removed.
     */
    static void recover(FileOutbox outbox, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        int batches = 0;
        int installed = 0;
        List<Path> logs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String n = f.getFileName().toString();
                if (n.endsWith(".done")) {
                    logs.add(f);
                    continue;
                }
                if (!n.endsWith(".batch")) {
                    continue;
                }
                if (Files.size(f) == 0) {
                    Files.delete(f); // a spare
                    continue;
                }
                Set<String> done = readDone(doneLog(f));
                List<Prepared> group = new ArrayList<>();
                for (Prepared p : read(outbox, f)) {
                    if (!done.contains(p.entry().id) && !outbox.leftAlready(p.entry().id)) {
                        group.add(p);
                    }
                }
                outbox.installDurably(group);
                installed += group.size();
                batches++;
                Files.delete(f);
            }
        }
        for (Path log : logs) {
            Files.deleteIfExists(log);
        }
        if (batches > 0) {
            LOG.info("Outbox: {} message(s) of {} batch file(s) made durable in the queue after a restart", installed,
                    batches);
        }
    }

    /** The ids of a done-log; a torn last line (no newline) does not count: that message is queued again. */
    static Set<String> readDone(Path log) throws IOException {
        Set<String> ids = new HashSet<>();
        if (!Files.exists(log)) {
            return ids;
        }
        String text = Files.readString(log, StandardCharsets.US_ASCII);
        int start = 0;
        for (int nl; (nl = text.indexOf('\n', start)) >= 0; start = nl + 1) {
            if (nl > start) {
                ids.add(text.substring(start, nl));
            }
        }
        return ids;
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
    static List<Prepared> read(FileOutbox outbox, Path file) throws IOException {
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
