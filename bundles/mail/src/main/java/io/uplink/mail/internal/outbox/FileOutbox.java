package io.uplink.mail.internal.outbox;

import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.outbox.HeaderBlock.MalformedMessageException;
import io.uplink.mail.internal.store.Maildir;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.InetAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outgoing queue on disk.
 *
 * <pre>
 * outbox/queue/&lt;id&gt;.eml     the message, exactly as it will go out
 * outbox/queue/&lt;id&gt;.state   envelope and per-recipient state (a properties file)
 * outbox/failed/&lt;id&gt;.*      messages given up on, with the reasons in their .state
 * outbox/tmp/                 files being written
 * outbox/removed/             files of sent messages, being unlinked
 * </pre>
 *
 * A message is in the queue once its {@code .state} file is; both files are written to {@code tmp/},
 * forced to disk, renamed into place, and the folder is forced, so a crash at any moment loses nothing. A
 * message leaves the queue only after {@link #record} learnt that every recipient was accepted or failed
 * for good; the {@code .state} file goes first, so a crash in between re-sends rather than loses.
 */
public final class FileOutbox implements OutboxStore {

    private static final Logger LOG = LoggerFactory.getLogger(FileOutbox.class);
    private static final AtomicLong SEQUENCE = new AtomicLong();

    /** What became of one recipient in one try. */
    public enum Verdict { SENT, TEMPORARY, PERMANENT }

    /** One recipient's outcome: the verdict and the server's reply (or a reason). */
    public record Outcome(Verdict verdict, String reply) {
    }

    /** How a recorded try left the message. */
    public enum Result { SENT, DEFERRED, FAILED }

    /** What a sender needs: envelope sender and the recipients still pending. */
    public record Envelope(String id, String from, List<String> pending, long size, Path body, byte[] content) {

        /** A message whose body is a file. */
        public Envelope(String id, String from, List<String> pending, long size, Path body) {
            this(id, from, pending, size, body, null);
        }
    }

    /** Retry timing. */
    public record Retry(Duration initial, Duration max, Duration maxAge) {
        public static final Retry DEFAULT = new Retry(Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(5));
    }

    /** Who gets the delivery status notification of a message that failed for good. */
    public enum BounceTo { SENDER, POSTMASTER, BOTH }

    /**
     * Where bounces go.
     *
     * @param to the sender (its envelope from), the postmaster, or both; a message without a sender (a
     *        bounce itself) is only ever reported to the postmaster, so a bounce is never bounced
     * @param localMailbox the local Maildir of an address in a local domain, or {@code null} for an address
     *        elsewhere (its bounce is queued to go out, with an empty envelope sender)
     */
    public record Bounces(BounceTo to, java.util.function.Function<String, Path> localMailbox) {
        /** Everything to the postmaster mailbox only. */
        public static final Bounces POSTMASTER_ONLY = new Bounces(BounceTo.POSTMASTER, a -> null);
    }

    enum State { PENDING, SENT, FAILED }

    static final class Rcpt {
        State state = State.PENDING;
        String reply;
    }

    static final class Entry {
        String id;
        String from;
        Instant queued;
        long size;
        boolean priority;
        final LinkedHashMap<String, Rcpt> recipients = new LinkedHashMap<>();
        int attempts;
        Instant nextTry;
        String lastError;
        /** When it was moved to failed/, or {@code null} while queued. */
        Instant failedAt;

        List<String> pending() {
            List<String> out = new ArrayList<>();
            recipients.forEach((a, r) -> {
                if (r.state == State.PENDING) {
                    out.add(a);
                }
            });
            return out;
        }

        QueuedMessage view() {
            return new QueuedMessage(id, from, pending(), size, queued, attempts, nextTry, lastError, priority);
        }
    }

    private final Path root;
    private final Path queue;
    private final Path failed;
    private final Path tmp;
    private final Path removed;
    private final Path postmaster;
    private final Bounces bounces;
    private final FailedFolder failedFolder;
    private final Clock clock;
    private final Retry retry;
    private final String hostName;
    private final Map<String, Entry> entries = new HashMap<>();
    private final Set<String> claimed = new HashSet<>();
    private IntakeBatches intake;

    /**
     * Opens (creating when missing) the queue in {@code root}.
     *
     * @param postmaster the Maildir that receives bounces
     */
    public FileOutbox(Path root, Path postmaster, Clock clock, Retry retry) throws IOException {
        this(root, postmaster, Bounces.POSTMASTER_ONLY, clock, retry);
    }

    /**
     * Opens (creating when missing) the queue in {@code root}.
     *
     * @param postmaster the postmaster's Maildir
     * @param bounces who gets the bounces
     */
    public FileOutbox(Path root, Path postmaster, Bounces bounces, Clock clock, Retry retry) throws IOException {
        this.root = root;
        this.bounces = bounces;
        this.queue = root.resolve("queue");
        this.failed = root.resolve("failed");
        this.tmp = root.resolve("tmp");
        this.removed = root.resolve("removed");
        this.postmaster = postmaster;
        this.clock = clock;
        this.retry = retry;
        this.hostName = hostName();
        Files.createDirectories(queue);
        Files.createDirectories(failed);
        Files.createDirectories(tmp);
        Files.createDirectories(removed);
        this.failedFolder = new FailedFolder(failed);
        // batch files first: what they hold and did not leave the queue is made durable in queue/, then loaded
        IntakeBatches.recover(this, root.resolve("intake"));
        load();
    }

    /** The failed folder: listing, deleting and purging what was given up. */
    public FailedFolder failedFolder() {
        return failedFolder;
    }

    /** The queue's folder. */
    public Path root() {
        return root;
    }

    /** The folder of failed messages. */
    public Path failedDir() {
        return failed;
    }

    // ------------------------------------------------------------------ intake

    /**
     * Queues a message; a message that is not mail or names no sender or recipient is refused with the
     * reason.
     */
    @Override
    public QueuedMessage queueOrReject(String from, List<String> recipients, InputStream message)
            throws IOException, MalformedMessageException {
        String id = newId();
        Path raw = tmp.resolve(id + ".in");
        Path body = tmp.resolve(id + ".eml");
        try {
            writeDurably(raw, out -> message.transferTo(out));
            HeaderBlock header;
            try (InputStream in = new BufferedInputStream(Files.newInputStream(raw))) {
                header = HeaderBlock.read(in);
            }
            String envelopeFrom = from != null ? from.trim() : senderOf(header);
            List<String> rcpts = recipients(recipients, header);
            long size;
            if (header.has("Bcc")) {
                // a Bcc header must never reach the server: rewrite the header, keep every other byte
                long headerLength = header.bytes().length;
                byte[] stripped = header.without("Bcc");
                writeDurably(body, out -> {
                    out.write(stripped);
                    try (InputStream in = Files.newInputStream(raw)) {
                        in.skipNBytes(headerLength);
                        in.transferTo(out);
                    }
                });
                Files.delete(raw);
            } else {
                Files.move(raw, body, StandardCopyOption.ATOMIC_MOVE);
            }
            size = Files.size(body);

            Entry e = entry(id, envelopeFrom, rcpts, size, header);
            move(body, queue.resolve(id + ".eml"));
            Maildir.force(queue);
            writeState(e, queue);
            synchronized (this) {
                entries.put(id, e);
                return e.view();
            }
        } finally {
            Files.deleteIfExists(raw);
            Files.deleteIfExists(body);
        }
    }

    static List<String> recipients(List<String> recipients, HeaderBlock header) throws MalformedMessageException {
        List<String> rcpts = new ArrayList<>();
        if (recipients != null) {
            for (String r : recipients) {
                rcpts.add(plain(r, "recipient"));
            }
        }
        if (rcpts.isEmpty()) {
            for (String h : new String[] {"To", "Cc", "Bcc"}) {
                for (String v : header.values(h)) {
                    rcpts.addAll(addresses(v, h));
                }
            }
        }
        if (rcpts.isEmpty()) {
            throw new MalformedMessageException("it names no recipient (no To, Cc or Bcc)");
        }
        return new ArrayList<>(new java.util.LinkedHashSet<>(rcpts));
    }

    private Entry entry(String id, String from, List<String> rcpts, long size, HeaderBlock header) {
        return entry(id, from, rcpts, size, header, clock.instant());
    }

    static Entry entry(String id, String from, List<String> rcpts, long size, HeaderBlock header, Instant queued) {
        Entry e = new Entry();
        e.id = id;
        e.from = from;
        e.queued = queued;
        e.size = size;
        e.priority = header.urgent();
        for (String r : rcpts) {
            e.recipients.put(r, new Rcpt());
        }
        return e;
    }

    // ------------------------------------------------------------------ group commit (submission)

    /** A message checked and ready for the group commit: its entry and its final bytes (Bcc stripped). */
    public record Prepared(Entry entry, byte[] body) {
    }

    @Override
    public QueuedMessage submit(String from, List<String> recipients, byte[] message) throws IOException {
        Prepared p;
        try {
            p = prepare(from, recipients, message);
        } catch (MalformedMessageException e) {
            throw new IOException("not an RFC 5322 message: " + e.getMessage(), e);
        }
        intake().commit(p);
        return p.entry().view();
    }

    /**
     * Group-commits messages already checked ({@link #prepare}); returns once they are durable in one batch file
     * and in the queue's listing.
     */
    @Override
    public void commit(List<Prepared> group) throws IOException {
        intake().commit(group, true);
    }

    @Override
    public long usableSpace() throws IOException {
        return Files.getFileStore(root).getUsableSpace();
    }

    private synchronized IntakeBatches intake() throws IOException {
        if (intake == null) {
            intake = new IntakeBatches(this, root.resolve("intake"));
        }
        return intake;
    }

    /** Group commits so far: {groups, messages, forces of the folder on the 250 path}. */
    public synchronized long[] intakeStats() {
        return intake == null ? new long[3] : intake.stats();
    }

    /** Stops the group-commit threads (what they took is committed first). */
    @Override
    public void close() {
        IntakeBatches i;
        synchronized (this) {
            i = intake;
            intake = null;
        }
        if (i != null) {
            i.close();
        }
    }

    @Override
    public Prepared prepare(String from, List<String> recipients, byte[] message)
            throws IOException, MalformedMessageException {
        return prepare(newId(), from, recipients, message, clock.instant());
    }

    /** Checks a message and strips its Bcc header: the entry to queue and the bytes to send. */
    static Prepared prepare(String id, String from, List<String> recipients, byte[] message, Instant queued)
            throws IOException, MalformedMessageException {
        HeaderBlock header = HeaderBlock.read(new ByteArrayInputStream(message));
        String envelopeFrom = from != null ? from.trim() : senderOf(header);
        List<String> rcpts = recipients(recipients, header);
        byte[] body = message;
        if (header.has("Bcc")) {
            byte[] stripped = header.without("Bcc");
            int headerLength = header.bytes().length;
            body = new byte[stripped.length + message.length - headerLength];
            System.arraycopy(stripped, 0, body, 0, stripped.length);
            System.arraycopy(message, headerLength, body, stripped.length, message.length - headerLength);
        }
        return new Prepared(entry(id, envelopeFrom, rcpts, body.length, header, queued), body);
    }

    /**
     * Writes committed messages into the queue without forcing anything: their batch file is their durable
     * copy until they leave the queue ({@link IntakeBatches}). The body first, then the state (written aside
     * and renamed), so a state file names a complete body unless the machine itself went down — and then the
     * batch file is still there and {@link #installDurably} repairs it at start.
     */
    void install(List<Prepared> group) throws IOException {
        for (Prepared p : group) {
            Entry e = p.entry();
            Files.write(queue.resolve(e.id + ".eml"), p.body());
            Path state = tmp.resolve(e.id + ".state.new");
            Files.write(state, stateBytes(e));
            move(state, queue.resolve(e.id + ".state"));
        }
    }

    /**
     * At start, for the messages of a batch file that have not left the queue: each body is written again from
     * the batch and forced, a readable state already in the queue is kept (it may know recipients that were
     * sent to, or tries), otherwise the state is written from the batch and forced; then the folder is forced.
     * A message whose files were lost, torn or never written is whole again afterwards.
     */
    void installDurably(List<Prepared> group) throws IOException {
        for (Prepared p : group) {
            Entry e = p.entry();
            Path body = tmp.resolve(e.id + ".eml.recovered");
            Files.deleteIfExists(body);
            writeDurably(body, out -> out.write(p.body()));
            move(body, queue.resolve(e.id + ".eml"));
            Path state = queue.resolve(e.id + ".state");
            boolean keep = false;
            if (Files.exists(state)) {
                try {
                    Entry there = readState(e.id, state);
                    keep = there.recipients.keySet().equals(e.recipients.keySet());
                } catch (IOException | RuntimeException torn) {
                    keep = false;
                }
            }
            if (keep) {
                try (FileChannel ch = FileChannel.open(state, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
            } else {
                Path fresh = tmp.resolve(e.id + ".state.recovered");
                Files.deleteIfExists(fresh);
                writeDurably(fresh, out -> out.write(stateBytes(e)));
                move(fresh, state);
            }
        }
        if (!group.isEmpty()) {
            Maildir.force(queue);
        }
    }

    /** Called when a message left the queue for good: its batch (if it came in one) learns it. */
    private void left(String id) {
        IntakeBatches i;
        synchronized (this) {
            i = intake;
        }
        if (i != null) {
            i.done(id);
        }
    }

    /** Makes installed messages visible to the senders. */
    void register(List<Prepared> group) {
        synchronized (this) {
            for (Prepared p : group) {
                entries.put(p.entry().id, p.entry());
            }
        }
    }

    /** Whether a message left the queue already: it is in the failed folder, or it was sent (its state in removed/). */
    boolean leftAlready(String id) {
        return Files.exists(failed.resolve(id + ".state")) || Files.exists(removed.resolve(id + ".state"));
    }

    Entry restored(String id, String from, List<String> rcpts, long size, boolean priority, Instant queued) {
        Entry e = new Entry();
        e.id = id;
        e.from = from;
        e.queued = queued;
        e.size = size;
        e.priority = priority;
        for (String r : rcpts) {
            e.recipients.put(r, new Rcpt());
        }
        return e;
    }

    static String senderOf(HeaderBlock header) throws MalformedMessageException {
        for (String h : new String[] {"Sender", "From"}) {
            String v = header.value(h);
            if (v != null) {
                List<String> a = addresses(v, h);
                if (!a.isEmpty()) {
                    return a.get(0);
                }
            }
        }
        throw new MalformedMessageException("it names no sender (no Sender or From)");
    }

    private static List<String> addresses(String value, String header) throws MalformedMessageException {
        List<String> out = new ArrayList<>();
        try {
            for (InternetAddress a : InternetAddress.parseHeader(value, false)) {
                if (a.isGroup()) {
                    for (InternetAddress m : a.getGroup(false)) {
                        m.validate();
                        out.add(m.getAddress());
                    }
                } else if (a.getAddress() != null && !a.getAddress().isBlank()) {
                    a.validate();
                    out.add(a.getAddress());
                }
            }
        } catch (AddressException e) {
            throw new MalformedMessageException("its " + header + " header cannot be read: " + e.getMessage());
        }
        return out;
    }

    private static String plain(String address, String what) throws MalformedMessageException {
        String a = address.trim();
        if (a.startsWith("<") && a.endsWith(">")) {
            a = a.substring(1, a.length() - 1);
        }
        if (a.isEmpty() || a.contains(" ") || a.contains("\r") || a.contains("\n") || a.contains(">")) {
            throw new MalformedMessageException("the " + what + " '" + address + "' is not a mail address");
        }
        return a;
    }

    // ------------------------------------------------------------------ the Outbox service

    @Override
    public synchronized int size() {
        return entries.size();
    }

    @Override
    public synchronized List<QueuedMessage> list() {
        List<Entry> all = new ArrayList<>(entries.values());
        all.sort(Comparator.comparing((Entry e) -> e.queued).thenComparing(e -> e.id));
        List<QueuedMessage> out = new ArrayList<>();
        for (Entry e : all) {
            out.add(e.view());
        }
        return out;
    }

    @Override
    public synchronized Optional<QueuedMessage> get(String id) {
        Entry e = entries.get(id);
        return e == null ? Optional.empty() : Optional.of(e.view());
    }

    @Override
    public InputStream open(String id) throws IOException {
        synchronized (this) {
            if (!entries.containsKey(id)) {
                throw new NoSuchFileException("no queued message " + id);
            }
        }
        return Files.newInputStream(queue.resolve(id + ".eml"));
    }

    @Override
    public boolean retry(String id) {
        Entry e;
        synchronized (this) {
            e = entries.get(id);
            if (e == null) {
                return false;
            }
            e.nextTry = null;
        }
        persist(e);
        return true;
    }

    @Override
    public int retryAll() {
        List<Entry> all;
        synchronized (this) {
            all = new ArrayList<>(entries.values());
            all.forEach(e -> e.nextTry = null);
        }
        all.forEach(this::persist);
        return all.size();
    }

    @Override
    public boolean delete(String id) {
        synchronized (this) {
            if (!entries.containsKey(id)) {
                return false;
            }
            if (claimed.contains(id)) {
                throw new IllegalStateException("message " + id + " is being sent right now; try again when the firing ended");
            }
            entries.remove(id);
        }
        try {
            Files.deleteIfExists(queue.resolve(id + ".state"));
            Files.deleteIfExists(queue.resolve(id + ".eml"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot delete message " + id + ": " + e.getMessage(), e);
        }
        left(id);
        return true;
    }

    // ------------------------------------------------------------------ the failed folder

    /**
     * Puts a failed message back into the queue, for the recipients that failed, under a new id, due now and
     * with a fresh {@code retry.maxAge}. The message file is linked (or copied) into the queue and made durable
     * with its new state before the failed copy goes, so a crash leaves it in the queue, in failed/, or both
     * (then a person may see it twice), never nowhere.
     *
     * @return the new queue id, empty when there is no such failed message
     */
    @Override
    public Optional<String> requeue(String failedId) throws IOException {
        Optional<Entry> found = failedFolder.entry(failedId);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Entry old = found.get();
        Entry e = new Entry();
        e.id = newId();
        e.from = old.from;
        e.queued = clock.instant();
        e.size = old.size;
        e.priority = old.priority;
        old.recipients.forEach((a, r) -> {
            if (r.state == State.FAILED) {
                e.recipients.put(a, new Rcpt());
            }
        });
        if (e.recipients.isEmpty()) {
            throw new IOException("failed message " + failedId + " names no failed recipient; nothing to requeue");
        }
        Path staged = tmp.resolve(e.id + ".eml");
        try {
            try {
                Files.createLink(staged, failedFolder.body(failedId));
            } catch (UnsupportedOperationException | IOException noLink) {
                Files.deleteIfExists(staged);
                writeDurably(staged, out -> Files.copy(failedFolder.body(failedId), out));
            }
            move(staged, queue.resolve(e.id + ".eml"));
            Maildir.force(queue);
            writeState(e, queue);
        } finally {
            Files.deleteIfExists(staged);
        }
        synchronized (this) {
            entries.put(e.id, e);
        }
        failedFolder.delete(failedId);
        LOG.info("Failed message {} requeued as {} for {}", failedId, e.id, e.recipients.keySet());
        return Optional.of(e.id);
    }

    /** Requeues every failed message; returns how many. */
    @Override
    public int requeueAll() throws IOException {
        int n = 0;
        for (io.uplink.api.mail.FailedMessage m : failedFolder.list()) {
            if (requeue(m.id()).isPresent()) {
                n++;
            }
        }
        return n;
    }

    /**
     * Removes failed messages and rejected pickup files older than {@code retention}.
     *
     * @param pickupRejected the pickup's rejected folder, or {@code null}
     * @return how many messages and files went
     */
    @Override
    public int expire(Duration retention, Path pickupRejected) throws IOException {
        Instant before = clock.instant().minus(retention);
        int n = failedFolder.purge(before);
        if (pickupRejected != null) {
            n += FailedFolder.purgeFiles(pickupRejected, before);
        }
        return n;
    }

    // ------------------------------------------------------------------ for the sender

    @Override
    public List<FailedMessage> failedMessages() throws IOException {
        return failedFolder.list();
    }

    @Override
    public Optional<FailedMessage> failedMessage(String id) {
        return failedFolder.read(id);
    }

    @Override
    public boolean deleteFailed(String id) throws IOException {
        return failedFolder.delete(id);
    }

    @Override
    public int purgeFailed(Instant before) throws IOException {
        return failedFolder.purge(before);
    }

    /** A firing sends straight from this queue: claims are held in memory, states in the files. */
    @Override
    public Sending sending(TaskContext firing) {
        return new Sending() {
            @Override
            public List<QueuedMessage> due() {
                return FileOutbox.this.due();
            }

            @Override
            public Optional<Envelope> claim(String id) {
                return FileOutbox.this.claim(id);
            }

            @Override
            public void release(String id) {
                FileOutbox.this.release(id);
            }

            @Override
            public Result record(String id, Map<String, Outcome> outcomes, String remoteHost, boolean backoff,
                    Executor removal) throws IOException {
                return FileOutbox.this.record(id, outcomes, remoteHost, backoff, removal);
            }

            @Override
            public Result recordAll(String id, Verdict verdict, String reply, String remoteHost, boolean backoff)
                    throws IOException {
                return FileOutbox.this.recordAll(id, verdict, reply, remoteHost, backoff);
            }
        };
    }

    /** Messages due now and not being sent by another session: urgent first, then oldest first. */
    @Override
    public synchronized List<QueuedMessage> due() {
        Instant now = clock.instant();
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (!claimed.contains(e.id) && (e.nextTry == null || !e.nextTry.isAfter(now))) {
                out.add(e);
            }
        }
        out.sort(Comparator.comparing((Entry e) -> !e.priority).thenComparing(e -> e.queued).thenComparing(e -> e.id));
        List<QueuedMessage> views = new ArrayList<>();
        for (Entry e : out) {
            views.add(e.view());
        }
        return views;
    }

    /** Takes a message for sending; empty when it is gone or another session has it. */
    public synchronized Optional<Envelope> claim(String id) {
        Entry e = entries.get(id);
        if (e == null || claimed.contains(id)) {
            return Optional.empty();
        }
        claimed.add(id);
        return Optional.of(new Envelope(id, e.from, e.pending(), e.size, queue.resolve(id + ".eml")));
    }

    /** Gives a claimed message back untouched (it was not tried). */
    public synchronized void release(String id) {
        claimed.remove(id);
    }

    /**
     * Records one try of a claimed message and releases it: accepted recipients are done, temporary
     * failures wait (with backoff, until {@code retry.maxAge}), permanent failures are bounced to the
     * postmaster. The message leaves the queue when no recipient is pending.
     *
     * @param outcomes recipient → outcome; pending recipients not named stay pending (counted as tried)
     * @param remoteHost the server that answered, for the bounce, or {@code null}
     */
    public Result record(String id, Map<String, Outcome> outcomes, String remoteHost) throws IOException {
        return record(id, outcomes, remoteHost, true);
    }

    /**
     * As {@link #record(String, Map, String)}; without {@code backoff} a deferred message stays due (the
     * connection broke, which is not the message's fault: it goes at the next firing).
     */
    public Result record(String id, Map<String, Outcome> outcomes, String remoteHost, boolean backoff) throws IOException {
        return record(id, outcomes, remoteHost, backoff, Runnable::run);
    }

    /**
     * As {@link #record(String, Map, String, boolean)}; a message that leaves the queue as sent has its files
     * moved out of the queue into {@code removed/} at once (a rename is cheap) and unlinked by {@code removal}
     * (an unlink is not: on a busy disk it costs as much as a whole SMTP transaction), so a sender can send
     * the next message meanwhile. What a crash leaves in {@code removed/} is unlinked at the next start.
     */
    public Result record(String id, Map<String, Outcome> outcomes, String remoteHost, boolean backoff,
            Executor removal) throws IOException {
        Entry e;
        Instant now = clock.instant();
        Map<String, String> newlyFailed = new LinkedHashMap<>();
        synchronized (this) {
            e = entries.get(id);
            if (e == null) {
                claimed.remove(id);
                return Result.SENT;
            }
        }
        try {
            Map<String, Outcome> effective = new LinkedHashMap<>();
            String lastError = effective(e, outcomes, retry, now, effective, newlyFailed);
            if (!newlyFailed.isEmpty()) {
                // the bounce goes first: a crash after it repeats the bounce rather than loses it
                bounce(e, newlyFailed, remoteHost, now);
            }
            synchronized (this) {
                apply(e, effective);
                e.attempts++;
                e.lastError = lastError;
            }
            boolean anyPending = !e.pending().isEmpty();
            boolean anyFailed = e.recipients.values().stream().anyMatch(r -> r.state == State.FAILED);
            if (anyPending) {
                if (backoff) {
                    e.nextTry = now.plus(backoff(e.attempts));
                }
                writeState(e, queue);
                return Result.DEFERRED;
            }
            synchronized (this) {
                entries.remove(id);
            }
            if (anyFailed) {
                moveToFailed(e);
                left(id);
                return Result.FAILED;
            }
            // the state first: a message file without its state is never sent again (load() moves it aside)
            Path state = removed.resolve(id + ".state");
            Path body = removed.resolve(id + ".eml");
            move(queue.resolve(id + ".state"), state);
            if (Files.exists(queue.resolve(id + ".eml"))) {
                move(queue.resolve(id + ".eml"), body);
            }
            left(id);
            removal.execute(() -> unlink(state, body));
            return Result.SENT;
        } finally {
            synchronized (this) {
                claimed.remove(id);
            }
        }
    }

    private static void unlink(Path... files) {
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException x) {
                LOG.warn("Cannot remove {} ({}); it goes at the next start", f, x.toString());
            }
        }
    }

    /** Records the same outcome for every pending recipient of a claimed message. */
    public Result recordAll(String id, Verdict verdict, String reply, String remoteHost, boolean backoff)
            throws IOException {
        Map<String, Outcome> all = new LinkedHashMap<>();
        synchronized (this) {
            Entry e = entries.get(id);
            if (e != null) {
                for (String r : e.pending()) {
                    all.put(r, new Outcome(verdict, reply));
                }
            }
        }
        return record(id, all, remoteHost, backoff);
    }

    /**
     * What a try's outcomes mean for a message's pending recipients: a temporary failure past {@code retry.maxAge}
     * is permanent. Fills {@code effective} and {@code newlyFailed} (recipient → reason); returns the first error.
     */
    static String effective(Entry e, Map<String, Outcome> outcomes, Retry retry, Instant now,
            Map<String, Outcome> effective, Map<String, String> newlyFailed) {
        boolean expired = Duration.between(e.queued, now).compareTo(retry.maxAge()) >= 0;
        String lastError = null;
        for (Map.Entry<String, Outcome> o : outcomes.entrySet()) {
            Rcpt r = e.recipients.get(o.getKey());
            if (r == null || r.state != State.PENDING) {
                continue;
            }
            Outcome out = o.getValue();
            if (out.verdict() == Verdict.TEMPORARY && expired) {
                out = new Outcome(Verdict.PERMANENT, "gave up after " + human(retry.maxAge()) + " in the queue; last error: "
                        + out.reply());
            }
            effective.put(o.getKey(), out);
            if (out.verdict() != Verdict.SENT && lastError == null) {
                lastError = out.reply();
            }
            if (out.verdict() == Verdict.PERMANENT) {
                newlyFailed.put(o.getKey(), out.reply());
            }
        }
        return lastError;
    }

    /** Sets the recipients' states from a try's effective outcomes. */
    static void apply(Entry e, Map<String, Outcome> effective) {
        for (Map.Entry<String, Outcome> o : effective.entrySet()) {
            Rcpt r = e.recipients.get(o.getKey());
            r.reply = o.getValue().reply();
            r.state = switch (o.getValue().verdict()) {
                case SENT -> State.SENT;
                case PERMANENT -> State.FAILED;
                case TEMPORARY -> State.PENDING;
            };
        }
    }

    Duration backoff(int attempts) {
        return backoff(retry, attempts);
    }

    /** The wait before the next try after {@code attempts} tries: doubling from the initial wait up to the maximum. */
    static Duration backoff(Retry retry, int attempts) {
        Duration d = retry.initial();
        for (int i = 1; i < attempts && d.compareTo(retry.max()) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(retry.max()) > 0 ? retry.max() : d;
    }

    private void bounce(Entry e, Map<String, String> failedRcpts, String remoteHost, Instant now) throws IOException {
        byte[] header;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(queue.resolve(e.id + ".eml")))) {
            header = HeaderBlock.read(in).bytes();
        } catch (MalformedMessageException | NoSuchFileException x) {
            header = ("X-Uplink-Note: the original header could not be read\r\n").getBytes(StandardCharsets.US_ASCII);
        }
        bounce(this, hostName, bounces, postmaster, e, failedRcpts, remoteHost, header, now);
    }

    /**
     * Sends the delivery status notification of a message that failed for good: into a local mailbox, or queued in
     * {@code outbox} to go out with an empty sender; a bounce itself is only ever reported to the postmaster.
     */
    static void bounce(Outbox outbox, String hostName, Bounces bounces, Path postmaster, Entry e,
            Map<String, String> failedRcpts, String remoteHost, byte[] header, Instant now) throws IOException {
        byte[] report = Dsn.build(hostName, e.id, e.from, e.queued, failedRcpts, remoteHost, header, now);
        // a message without a sender is a bounce itself: never bounce a bounce, tell the postmaster
        boolean toSender = bounces.to() != BounceTo.POSTMASTER && !e.from.isEmpty();
        boolean toPostmaster = bounces.to() != BounceTo.SENDER || e.from.isEmpty();
        List<String> where = new ArrayList<>(2);
        if (toSender) {
            Path local = bounces.localMailbox().apply(e.from);
            if (local != null) {
                Maildir.open(local).deliver(new ByteArrayInputStream(report));
                where.add("the local mailbox of <" + e.from + ">");
            } else {
                QueuedMessage dsn = outbox.queue("", List.of(e.from), new ByteArrayInputStream(report));
                where.add("the outbox (" + dsn.id() + ", to <" + e.from + ">)");
            }
        }
        if (toPostmaster) {
            Maildir.open(postmaster).deliver(new ByteArrayInputStream(report));
            where.add("the postmaster mailbox");
        }
        LOG.warn("Outgoing message {} from <{}> failed for {}; a bounce went to {}", e.id, e.from, failedRcpts.keySet(),
                String.join(" and ", where));
    }

    private void moveToFailed(Entry e) throws IOException {
        e.failedAt = clock.instant();
        // state into failed/ first, then the body, then the queue's state: a crash anywhere is finished at load
        writeState(e, failed);
        Path body = queue.resolve(e.id + ".eml");
        if (Files.exists(body)) {
            // a submitted message's body was never forced (its batch file held it): force it before it leaves
            try (FileChannel ch = FileChannel.open(body, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            move(body, failed.resolve(e.id + ".eml"));
            Maildir.force(failed);
        }
        Files.deleteIfExists(queue.resolve(e.id + ".state"));
    }

    private void persist(Entry e) {
        try {
            writeState(e, queue);
        } catch (IOException x) {
            throw new IllegalStateException("cannot write the state of message " + e.id + ": " + x.getMessage(), x);
        }
    }

    // ------------------------------------------------------------------ files

    private void writeState(Entry e, Path dir) throws IOException {
        byte[] bytes = stateBytes(e);
        Path temp = tmp.resolve(e.id + ".state." + ThreadLocalRandom.current().nextInt(1 << 30));
        writeDurably(temp, out -> out.write(bytes));
        move(temp, dir.resolve(e.id + ".state"));
        Maildir.force(dir);
    }

    private byte[] stateBytes(Entry e) throws IOException {
        Properties p = new Properties();
        synchronized (this) {
            p.setProperty("from", e.from);
            p.setProperty("queued", e.queued.toString());
            p.setProperty("size", Long.toString(e.size));
            p.setProperty("priority", Boolean.toString(e.priority));
            p.setProperty("attempts", Integer.toString(e.attempts));
            if (e.nextTry != null) {
                p.setProperty("nextTry", e.nextTry.toString());
            }
            if (e.lastError != null) {
                p.setProperty("lastError", e.lastError);
            }
            if (e.failedAt != null) {
                p.setProperty("failedAt", e.failedAt.toString());
            }
            int i = 0;
            for (Map.Entry<String, Rcpt> r : e.recipients.entrySet()) {
                p.setProperty("rcpt." + i, r.getKey());
                p.setProperty("rcpt." + i + ".state", r.getValue().state.name());
                if (r.getValue().reply != null) {
                    p.setProperty("rcpt." + i + ".reply", r.getValue().reply);
                }
                i++;
            }
        }
        StringWriter w = new StringWriter();
        p.store(w, "Uplink outgoing message " + e.id);
        return w.toString().getBytes(StandardCharsets.UTF_8);
    }

    static Entry readState(String id, Path file) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
        Entry e = new Entry();
        e.id = id;
        e.from = p.getProperty("from", "");
        e.queued = Instant.parse(p.getProperty("queued"));
        e.size = Long.parseLong(p.getProperty("size", "0"));
        e.priority = Boolean.parseBoolean(p.getProperty("priority", "false"));
        e.attempts = Integer.parseInt(p.getProperty("attempts", "0"));
        String next = p.getProperty("nextTry");
        e.nextTry = next == null ? null : Instant.parse(next);
        e.lastError = p.getProperty("lastError");
        String failedAt = p.getProperty("failedAt");
        e.failedAt = failedAt == null ? null : Instant.parse(failedAt);
        for (int i = 0; p.getProperty("rcpt." + i) != null; i++) {
            Rcpt r = new Rcpt();
            r.state = State.valueOf(p.getProperty("rcpt." + i + ".state", "PENDING"));
            r.reply = p.getProperty("rcpt." + i + ".reply");
            e.recipients.put(p.getProperty("rcpt." + i), r);
        }
        return e;
    }

    private void load() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(removed)) {
            for (Path f : ds) {
                // sent before a crash, not yet unlinked
                Files.deleteIfExists(f);
            }
        }
        Set<String> bodies = new HashSet<>();
        List<String> states = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(queue)) {
            for (Path f : ds) {
                String n = f.getFileName().toString();
                if (n.endsWith(".eml")) {
                    bodies.add(n.substring(0, n.length() - 4));
                } else if (n.endsWith(".state")) {
                    states.add(n.substring(0, n.length() - 6));
                }
            }
        }
        for (String id : states) {
            if (Files.exists(failed.resolve(id + ".state"))) {
                // interrupted move to failed/: finish it
                if (bodies.remove(id)) {
                    move(queue.resolve(id + ".eml"), failed.resolve(id + ".eml"));
                }
                Files.deleteIfExists(queue.resolve(id + ".state"));
                continue;
            }
            if (!bodies.remove(id)) {
                LOG.error("Outgoing message {} has a state file but no message file in {}; it is left there, not sent",
                        id, queue);
                continue;
            }
            try {
                Entry e = readState(id, queue.resolve(id + ".state"));
                long size = Files.size(queue.resolve(id + ".eml"));
                if (size != e.size) {
                    // only a machine crash does this: a submitted message's files are not forced while its batch
                    // file holds it, and a message whose batch is gone has left the queue (it was sent)
                    move(queue.resolve(id + ".eml"), tmp.resolve(id + ".torn.eml"));
                    move(queue.resolve(id + ".state"), tmp.resolve(id + ".torn.state"));
                    LOG.error("Outgoing message {} has {} bytes in {} where its state says {}; moved aside to {}, not sent",
                            id, size, queue, e.size, tmp);
                    continue;
                }
                entries.put(id, e);
            } catch (IOException | RuntimeException x) {
                LOG.error("Outgoing message {}: its state file {} cannot be read ({}); it is left there, not sent", id,
                        queue.resolve(id + ".state"), x.toString());
            }
        }
        for (String orphan : bodies) {
            // a message file without state: queue() never returned for it, nobody was told it was queued
            Path f = queue.resolve(orphan + ".eml");
            Path aside = tmp.resolve(orphan + ".unqueued.eml");
            move(f, aside);
            LOG.warn("Outgoing message file {} was never fully queued (crash while queuing); moved to {}", f, aside);
        }
        if (!entries.isEmpty()) {
            LOG.info("Outbox {}: {} message(s) waiting", root, entries.size());
        }
    }

    /** What writes a file's bytes. */
    @FunctionalInterface
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    static void writeDurably(Path file, Content content) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream out = Channels.newOutputStream(ch);
            content.writeTo(out);
            out.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static String newId() {
        long seq = SEQUENCE.incrementAndGet() % 1_000_000;
        return String.format("%s-%05d-%04x", Long.toString(System.currentTimeMillis(), 36), seq,
                ThreadLocalRandom.current().nextInt(0x10000));
    }

    static String human(Duration d) {
        if (d.toDays() > 0 && d.equals(Duration.ofDays(d.toDays()))) {
            return d.toDays() + "d";
        }
        if (d.toHours() > 0 && d.equals(Duration.ofHours(d.toHours()))) {
            return d.toHours() + "h";
        }
        if (d.toMinutes() > 0 && d.equals(Duration.ofMinutes(d.toMinutes()))) {
            return d.toMinutes() + "m";
        }
        return d.toSeconds() + "s";
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
