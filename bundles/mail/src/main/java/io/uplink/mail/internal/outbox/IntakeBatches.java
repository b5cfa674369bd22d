package io.uplink.mail.internal.outbox;

import io.uplink.mail.internal.outbox.FileOutbox.Prepared;
import io.uplink.mail.internal.store.Maildir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
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
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox's group commit for messages taken in memory ({@link FileOutbox#submit}, the pickup folder).
 *
 * <p>Group commit, leader and followers: the first caller that finds no sync under way takes every message
 * waiting at that moment (its own among them), writes them all at the end of the current batch file {@code
 * outbox/intake/<id>.batch} and forces it with {@code fdatasync}, and only then lets their callers return (the
 * submission listener answers 250 then, the pickup folder removes the files): one sync for the whole group, on
 * the caller's own thread (no hand-off to another thread and back). Callers that arrive during a sync wait; when
 * it ends, the first of them leads the next group. A batch file is a segment of {@value #SEGMENT} bytes, filled
 * with zeros and forced (and its name made durable by a force of the folder) by the installer before it is used,
 * so a commit overwrites blocks that already exist: the file's size and block map do not change and the sync is
 * a plain data write, no journal commit. Each record ends with a CRC-32C, so a record whose write was torn
 * (never synced, never answered) is told from a good one even over the zeros. When the next group does not fit,
 * the segment is sealed and the next spare taken.
 *
 * <p>The <em>installer</em> thread writes each committed message into {@code queue/} <em>without forcing</em>
 * anything and shows it to the senders. The batch file stays the durable copy until it is sealed and every one
 * of its messages has left the queue (sent, failed or deleted): each departure appends the message's id to the
 * batch's done-log {@code <id>.done}, and the last one deletes the batch file, then the done-log. So no message
 * costs an fsync of its own on the way in. {@link #recover} (at start, before the queue is loaded) makes every
 * message of a batch file that its done-log does not name durable in {@code queue/} (body rewritten from the
 * batch and forced, state kept when readable, else written from the batch) and then deletes the batch and its log.
 */
final class IntakeBatches {

    private static final Logger LOG = LoggerFactory.getLogger(IntakeBatches.class);
    private static final int MAGIC = 0x55504c31;
    private static final int MAX_GROUP = 1024;
    /** Size of a batch file, zero-filled ahead; a group larger than that gets a file of its own, grown. */
    static final int SEGMENT = 4 << 20;
    private static final int SPARES = 2;
    private static final long MAX_GROUP_BYTES = 32L << 20;

    private record Waiting(List<Prepared> prepared, CompletableFuture<Void> done, CompletableFuture<Void> installed,
            Thread caller) {
        long bytes() {
            long n = 0;
            for (Prepared p : prepared) {
                n += p.body().length;
            }
            return n;
        }
    }

    private record Batch(Live segment, List<Prepared> group, List<Waiting> callers) {
    }

    /** A batch file: kept until it is sealed (no more groups go in) and its last message left the queue. */
    private static final class Live {
        final Path file;
        final Path doneLog;
        /** Messages committed into it that have not left the queue. */
        int outstanding;
        boolean sealed;

        Live(Path file) {
            this.file = file;
            this.doneLog = doneLog(file);
        }

        /** Under the lock: deletes the batch file (then its done-log) once sealed and empty. */
        void deleteIfFinished() {
            if (sealed && outstanding == 0) {
                try {
                    // the batch first: a done-log without its batch means nothing and is removed at start
                    Files.deleteIfExists(file);
                    Files.deleteIfExists(doneLog);
                } catch (IOException e) {
                    LOG.warn("Cannot delete {} ({}); it is removed at the next start", file, e.toString());
                }
            }
        }
    }

    private final FileOutbox outbox;
    private final Path dir;
    private final BlockingQueue<Waiting> waiting = new LinkedBlockingQueue<>();
    // committed batches waiting to be installed; bounded, so a slow disk slows the 250s instead of the heap
    private final BlockingQueue<Batch> committed = new LinkedBlockingQueue<>(16);
    // zero-filled batch files, forced, whose names are already durable in the folder
    private final BlockingQueue<Path> spares = new LinkedBlockingQueue<>();
    // the committer's current batch file, its channel and where the next group goes
    private Live current;
    private FileChannel channel;
    private long position;
    // message id -> its live batch
    private final Map<String, Live> live = new ConcurrentHashMap<>();
    // held by the caller that commits the waiting group (leader); the others wait for it
    private final ReentrantLock lock = new ReentrantLock();
    private final Thread installer;
    private volatile boolean closed;
    private final AtomicLong groups = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong extraSyncs = new AtomicLong();

    IntakeBatches(FileOutbox outbox, Path dir) throws IOException {
        this.outbox = outbox;
        this.dir = dir;
        Files.createDirectories(dir);
        installer = new Thread(this::installLoop, "uplink-outbox-install");
        installer.setDaemon(true);
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
        Waiting w = new Waiting(group, new CompletableFuture<>(), new CompletableFuture<>(), Thread.currentThread());
        waiting.add(w);
        boolean interrupted = false;
        while (!w.done().isDone()) {
            if (lock.tryLock()) {
                // the leader: commits what waits now (its own message among them) on its own thread
                try {
                    if (!w.done().isDone()) {
                        commitWaiting();
                    }
                } finally {
                    lock.unlock();
                }
                // what arrived during that sync gets a leader of its own
                Waiting next = waiting.peek();
                if (next != null) {
                    LockSupport.unpark(next.caller());
                }
            } else {
                // another thread is syncing: it completes this message, or wakes this thread to lead the next group
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    if (waiting.remove(w)) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while waiting for the group commit; the message was not queued");
                    }
                    interrupted = true; // taken by a leader: its outcome is known soon
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
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
     * For the benchmark: groups committed so far, the messages in them, and the other syncs on the 250 path (a
     * batch file made on the spot when no spare was ready); syncs on the 250 path = groups + those.
     */
    long[] stats() {
        return new long[] {groups.get(), messages.get(), extraSyncs.get()};
    }

    void close() {
        closed = true;
        try {
            installer.interrupt();
            installer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            for (Waiting w; (w = waiting.poll()) != null;) {
                w.done().completeExceptionally(new IOException("the outbox is stopping"));
                LockSupport.unpark(w.caller());
            }
            seal();
        } finally {
            lock.unlock();
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
            } catch (IOException e) {
                LOG.warn("Cannot note in {} that message {} left the queue ({}); a restart queues it again", l.doneLog,
                        id, e.toString());
                return;
            }
            l.outstanding--;
            l.deleteIfFinished();
        }
    }

    /** Under the lock: writes what waits into the batch file, syncs it, and wakes the callers. */
    private void commitWaiting() {
        List<Waiting> group = new ArrayList<>();
        Waiting first = waiting.poll();
        if (first == null) {
            return;
        }
        group.add(first);
        long bytes = group.get(0).bytes();
        int count = group.get(0).prepared().size();
        for (Waiting w; count < MAX_GROUP && bytes < MAX_GROUP_BYTES && (w = waiting.poll()) != null;) {
            group.add(w);
            bytes += w.bytes();
            count += w.prepared().size();
        }
        List<Prepared> prepared = new ArrayList<>(count);
        group.forEach(w -> prepared.addAll(w.prepared()));
        Live segment = null;
        try {
            byte[] records = records(prepared);
            segment = segmentFor(records.length);
            synchronized (segment) {
                segment.outstanding += prepared.size();
            }
            ByteBuffer buf = ByteBuffer.wrap(records);
            long at = position;
            while (buf.hasRemaining()) {
                at += channel.write(buf, at);
            }
            position = at;
            channel.force(false);
            groups.incrementAndGet();
            messages.addAndGet(prepared.size());
            committed.put(new Batch(segment, prepared, group));
        } catch (IOException | RuntimeException e) {
            LOG.error("Cannot commit {} submitted message(s) to {}: {}", prepared.size(), dir, e.toString());
            if (segment != null) {
                // whatever part of the group reached the file is not answered: the file is sealed and kept
                // (recovery would queue it, twice at most); the next group starts a fresh file
                seal();
            }
            group.forEach(w -> {
                w.done().completeExceptionally(e instanceof IOException io ? io : new IOException(e));
                LockSupport.unpark(w.caller());
            });
            return;
        } catch (InterruptedException e) {
            // the batch is durable: its messages are queued; the next start installs them
            Thread.currentThread().interrupt();
        }
        group.forEach(w -> {
            w.done().complete(null);
            LockSupport.unpark(w.caller());
        });
    }

    /** The batch file the next {@code bytes} go into: the current one while they fit, else the next spare. */
    private Live segmentFor(int bytes) throws IOException {
        if (current != null && position + bytes <= SEGMENT) {
            return current;
        }
        seal();
        Path file = spares.poll();
        if (file == null) {
            file = newSpare();
            Maildir.force(dir);
            extraSyncs.addAndGet(2);
        }
        channel = FileChannel.open(file, StandardOpenOption.WRITE);
        position = 0;
        current = new Live(file);
        return current;
    }

    /** No more groups go into the current batch file; it goes once its messages left the queue. */
    private synchronized void seal() {
        Live l = current;
        current = null;
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.warn("Closing a batch file: {}", e.toString());
            }
            channel = null;
        }
        if (l != null) {
            synchronized (l) {
                l.sealed = true;
                l.deleteIfFinished();
            }
        }
    }

    /** The group's records: each one magic, envelope, body and a CRC-32C of all that. */
    static byte[] records(List<Prepared> group) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        for (Prepared p : group) {
            int start = bytes.size();
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
            out.flush();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            byte[] so = bytes.toByteArray();
            crc.update(so, start, so.length - start);
            out.writeInt((int) crc.getValue());
        }
        out.flush();
        return bytes.toByteArray();
    }

    /** A batch file of {@link #SEGMENT} zeros, forced; its name is durable once the folder is forced after. */
    private Path newSpare() throws IOException {
        Path f = dir.resolve(FileOutbox.newId() + ".batch");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate(1 << 16);
            for (long at = 0; at < SEGMENT; at += 1 << 16) {
                zeros.clear();
                while (zeros.hasRemaining()) {
                    ch.write(zeros, at + zeros.position());
                }
            }
            ch.force(true);
        }
        return f;
    }

    private void installLoop() {
        prepareSpares();
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
                    for (Prepared p : b.group()) {
                        live.put(p.entry().id, b.segment());
                    }
                    outbox.register(b.group());
                } catch (IOException | RuntimeException e) {
                    LOG.error("Cannot move the {} message(s) of {} into the queue ({}); they stay there and are "
                            + "moved at the next start", b.group().size(), b.segment().file, e.toString());
                }
                b.callers().forEach(w -> w.installed().complete(null));
            }
            prepareSpares();
        }
    }

    /** Tops the spares up to {@link #SPARES}: each zero-filled and forced, then the folder forced once. */
    private void prepareSpares() {
        try {
            List<Path> fresh = new ArrayList<>();
            for (int i = spares.size(); i < SPARES && !closed; i++) {
                fresh.add(newSpare());
            }
            if (!fresh.isEmpty()) {
                Maildir.force(dir);
                // only now, with the folder forced, are their names durable
                spares.addAll(fresh);
            }
        } catch (IOException e) {
            LOG.warn("Cannot prepare batch files in {}: {}", dir, e.toString());
        }
    }

    static Path doneLog(Path batch) {
        String n = batch.getFileName().toString();
        return batch.resolveSibling(n.substring(0, n.length() - ".batch".length()) + ".done");
    }

    /**
     * At start, before the queue is loaded: every message of a batch file that its done-log does not name (and
     * that is not in {@code failed/} or {@code removed/}) is made durable in {@code queue/}; then the batch file and its done-log go.
     * Done-logs without their batch file, and spares (zeros only), are removed.
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

    /** Writes a batch file holding {@code group} (and forces it). */
    static void write(Path file, List<Prepared> group) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(records(group));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    /**
     * The records of a batch file up to the first that is not whole: the zeros after the last group, or a group
     * whose write was torn (never synced, so nobody was told it was queued).
     */
    static List<Prepared> read(FileOutbox outbox, Path file) throws IOException {
        List<Prepared> out = new ArrayList<>();
        byte[] all = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(all);
        try {
            while (in.remaining() >= 4) {
                int start = in.position();
                int magic = in.getInt();
                if (magic != MAGIC) {
                    if (magic != 0) {
                        LOG.warn("Batch file {}: unreadable record after {} message(s); the rest was never acknowledged",
                                file, out.size());
                    }
                    break;
                }
                String id = utf(in);
                String from = utf(in);
                int n = in.getInt();
                if (n < 0 || n > 100_000) {
                    break;
                }
                List<String> rcpts = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    rcpts.add(utf(in));
                }
                Instant queued = Instant.ofEpochMilli(in.getLong());
                boolean priority = in.get() != 0;
                int length = in.getInt();
                if (length < 0 || length > in.remaining() - 4) {
                    break;
                }
                byte[] body = new byte[length];
                in.get(body);
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(all, start, in.position() - start);
                if (in.getInt() != (int) crc.getValue()) {
                    LOG.warn("Batch file {}: torn record after {} message(s); it was never acknowledged", file, out.size());
                    break;
                }
                out.add(new Prepared(outbox.restored(id, from, rcpts, length, priority, queued), body));
            }
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException torn) {
            // a torn end
        }
        return out;
    }

    /** A string as {@link DataOutputStream#writeUTF} wrote it. */
    private static String utf(ByteBuffer in) throws IOException {
        int n = Short.toUnsignedInt(in.getShort());
        byte[] b = new byte[n];
        in.get(b);
        try {
            return new DataInputStream(new java.io.ByteArrayInputStream(
                    ByteBuffer.allocate(n + 2).putShort((short) n).put(b).array())).readUTF();
        } catch (java.io.UTFDataFormatException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            LOG.warn("Cannot delete {}: {}", f, e.toString());
        }
    }
}
