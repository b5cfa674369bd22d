package io.uplink.mail.internal.collect;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import jakarta.mail.MessagingException;
import jakarta.mail.internet.InternetHeaders;

import io.uplink.mail.internal.deliver.OfficeServer;
import io.uplink.mail.internal.deliver.OfficeSession;
import io.uplink.mail.internal.ledger.Ledger;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Maildir;

/**
 * Delivery to the office's mail server(s) over LMTP or SMTP, with the routed addresses as envelope recipients;
 * with {@code delivery.<domain>} some domains may go to another server or to the local Maildirs in the same
 * firing ({@link CollectorSettings#deliveryFor}).
 *
 * <p>Each message is kept in memory (up to 256 KiB) or written to {@code tmp/} of the {@code unroutable}
 * Maildir (the spool) as it is fetched, and sent from there by one of {@link #SESSIONS} sessions per server,
 * so the server stores several messages at once while the next ones are fetched (an LMTP server forces each
 * message to disk: one session at a time leaves it waiting on the disk). There is no barrier between
 * batches: the fetching goes on while up to {@link #WINDOW} messages wait for their answers, and the
 * answered ones are taken in as the next ones are handed over. A message counts as delivered, and is
 * recorded in the ledger, once every recipient has a final answer: a 250 from its server, or, for a 5xx or
 * for mail no address matched, the copy stored in the unroutable Maildir, and once its local Maildir copies
 * (domains delivered to {@code maildir}) are stored. Those copies are written only after every server
 * answered. Any 4xx (or a server down) leaves the message on the remote server for the next firing.
 *
 * <p>The ledger's intent names the message's local Maildir copies, or, when it has none, the spool's file; so
 * after a crash a pending message counts as delivered only when one of those copies was completed (which
 * happens after every reply was read; the missing ones are completed from it); otherwise it is delivered
 * again. A SIGKILL therefore never loses a message and gives the office server at most the messages in
 * flight at that moment (one per session, at most {@link #SESSIONS} per server) a second time. The ledger is
 * forced every {@link #BATCH} answered messages and at {@link #commit}, before anything is deleted on the
 * remote server.
 */
final class ServerDestination implements Destination {

    /** Sessions to each office server at once. */
    static final int SESSIONS = 8;
    /** Messages up to this size wait in memory, larger ones in the spool. */
    private static final long IN_MEMORY = 256 * 1024;
    /** Answered messages between forcing the ledger. */
    private static final int BATCH = 64;
    /** Messages handed over and not yet answered, at most: bounds the memory the waiting messages take. */
    private static final int WINDOW = 2 * BATCH;

    private final String collector;
    private final java.util.function.Function<String, OfficeServer> route;
    private final boolean anyMaildir;
    private final Duration timeout;
    private final Path mailboxes;
    private final String unroutable;
    private final Clock clock;
    private final Consumer<String> problems;
    private final ExecutorService senders;
    private final Semaphore window = new Semaphore(WINDOW);
    private final Map<OfficeServer, BlockingQueue<OfficeSession>> idle = new ConcurrentHashMap<>();
    /** At most {@link #SESSIONS} transactions per server at once, however many servers share the threads. */
    private final Map<OfficeServer, Semaphore> busy = new ConcurrentHashMap<>();
    private final Map<String, Maildir> maildirs = new ConcurrentHashMap<>();
    private final Deque<Future<Outcome>> pending = new ArrayDeque<>();
    /** Taken in from {@link #pending} before {@link #commit}, on the fetching thread. */
    private final List<Deferred> deferred = new ArrayList<>();
    private final Map<OfficeServer, Deferred> down = new ConcurrentHashMap<>();
    private final Set<OfficeServer> servers = ConcurrentHashMap.newKeySet();
    private IOException failure;
    private int answered;
    private Maildir spool;

    /** How one message ended: delivered (with an optional problem to report) or deferred. */
    private record Outcome(Deferred deferred, String problem) {
    }

    ServerDestination(CollectorSettings cfg, Path mailboxes, Clock clock, Consumer<String> problems) {
        this.collector = cfg.id();
        this.route = cfg::deliveryFor;
        this.anyMaildir = cfg.deliversToMaildir();
        this.timeout = cfg.timeout;
        this.mailboxes = mailboxes;
        this.unroutable = cfg.router.unroutable();
        this.clock = clock;
        this.problems = problems;
        if (cfg.delivery != null) {
            servers.add(cfg.delivery);
        }
        cfg.domainDelivery.values().forEach(d -> d.ifPresent(servers::add));
        this.senders = Executors.newFixedThreadPool(SESSIONS * servers.size(), r -> {
            Thread t = new Thread(r, "uplink-collector-" + collector + "-delivery");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void deliver(Ledger ledger, String uid, long size, List<Router.Recipient> recipients, Router.Headers headers,
            Maildir.Writer bytes) throws Deferred, IOException {
        takeAnswered(ledger);
        if (spool == null) {
            spool = maildir(unroutable);
        }
        Map<OfficeServer, List<String>> byServer = new LinkedHashMap<>();
        List<String> local = new ArrayList<>();
        boolean unroutableCopy = false;
        for (Router.Recipient r : recipients) {
            OfficeServer server = r.address() == null ? null : route.apply(r.address());
            if (server != null) {
                byServer.computeIfAbsent(server, k -> new ArrayList<>()).add(r.address());
            } else if (r.address() == null) {
                unroutableCopy = true;
            } else {
                local.add(r.mailbox());
            }
        }
        for (OfficeServer server : byServer.keySet()) {
            Deferred d = down.get(server);
            if (d != null) {
                // every server this collector uses is down and nothing goes to a Maildir: stop fetching
                throw new Deferred(uid, d.getMessage(), !anyMaildir && down.keySet().containsAll(servers), null);
            }
        }
        String unique = Maildir.uniqueName();
        // the intent names the copies that prove the delivery finished: the local ones, else the spool's
        List<String> proof = local.isEmpty() ? List.of(unroutable) : local;
        synchronized (ledger) {
            ledger.intend(uid, size, unique, proof);
        }
        Spooled copy;
        if (size >= 0 && size <= IN_MEMORY) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream((int) size + 1024);
            bytes.writeTo(buffer);
            copy = new InMemory(unique, buffer.toByteArray());
        } else {
            copy = new InSpool(spool.write(unique, bytes));
        }
        String from;
        try {
            from = envelopeFrom(copy);
        } catch (IOException e) {
            copy.drop();
            throw e;
        }
        try {
            window.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            copy.drop();
            throw new InterruptedIOException("interrupted while delivering to the office server");
        }
        boolean keepSpool = unroutableCopy;
        try {
            pending.add(senders.submit(() -> {
                try {
                    return send(ledger, uid, size, from, byServer, local, unique, copy, keepSpool);
                } finally {
                    window.release();
                }
            }));
        } catch (RuntimeException e) {
            window.release();
            copy.drop();
            throw e;
        }
    }

    /** On the fetching thread: takes in the answered messages, and forces the ledger every {@link #BATCH} of them. */
    private void takeAnswered(Ledger ledger) throws IOException {
        while (!pending.isEmpty() && pending.peekFirst().isDone()) {
            take(pending.pollFirst());
            if (++answered % BATCH == 0) {
                synchronized (ledger) {
                    ledger.sync();
                }
            }
        }
    }

    private void take(Future<Outcome> f) throws InterruptedIOException {
        try {
            Outcome o = f.get();
            if (o.deferred() != null) {
                deferred.add(o.deferred());
            } else if (o.problem() != null) {
                problems.accept(o.problem());
            }
        } catch (ExecutionException e) {
            if (failure == null) {
                failure = e.getCause() instanceof IOException io ? io : new IOException(e.getCause().toString(), e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while delivering to the office server");
        }
    }

    /**
     * A message waiting to be handed over: small ones in memory (no file to create and delete when the
     * office server takes them), large ones in the spool's {@code tmp/}. Kept means stored in the unroutable
     * Maildir under the name the ledger's intent gave.
     */
    private interface Spooled extends OfficeSession.Body {
        void keep() throws IOException;

        void drop() throws IOException;
    }

    private final class InMemory implements Spooled {
        private final String unique;
        private final byte[] bytes;

        InMemory(String unique, byte[] bytes) {
            this.unique = unique;
            this.bytes = bytes;
        }

        @Override
        public InputStream open() {
            return new ByteArrayInputStream(bytes);
        }

        @Override
        public void keep() throws IOException {
            spool.write(unique, out -> out.write(bytes)).complete();
        }

        @Override
        public void drop() {
            // nothing on disk
        }
    }

    private static final class InSpool implements Spooled {
        private final Maildir.Delivery file;

        InSpool(Maildir.Delivery file) {
            this.file = file;
        }

        @Override
        public InputStream open() throws IOException {
            return Files.newInputStream(file.temp());
        }

        @Override
        public void keep() throws IOException {
            file.complete();
        }

        @Override
        public void drop() throws IOException {
            file.abandon();
        }
    }

    /**
     * On a sender thread: hands the message to each server it goes to, then (every server answered, none
     * with a 4xx) stores its local copies: the unroutable one (a 5xx, or no address matched) first, then those
     * the intent names; then records the delivery.
     */
    private Outcome send(Ledger ledger, String uid, long size, String from, Map<OfficeServer, List<String>> byServer,
            List<String> local, String unique, Spooled copy, boolean unroutableCopy) throws IOException {
        boolean keep = unroutableCopy;
        List<String> problem = new ArrayList<>();
        List<Maildir.Delivery> copies = new ArrayList<>(local.size());
        try {
            for (Map.Entry<OfficeServer, List<String>> e : byServer.entrySet()) {
                OfficeServer server = e.getKey();
                Deferred isDown = down.get(server);
                if (isDown != null) {
                    // queued behind a failed connection: do not wait for another timeout
                    copy.drop();
                    return new Outcome(new Deferred(uid, isDown.getMessage(), false, null), null);
                }
                List<OfficeSession.Reply> replies;
                try {
                    replies = exchange(server, from, e.getValue(), copy);
                } catch (IOException x) {
                    Deferred d = new Deferred(uid, "cannot deliver to " + server + ": " + reason(x)
                            + "; the messages stay on the server for the next firing (key 'delivery')", false, x);
                    down.putIfAbsent(server, d);
                    copy.drop();
                    return new Outcome(d, null);
                }
                List<String> refused = new ArrayList<>();
                List<String> later = new ArrayList<>();
                for (OfficeSession.Reply r : replies) {
                    if (r.permanent()) {
                        refused.add(r.recipient() + " (" + r.text() + ")");
                    } else if (!r.delivered()) {
                        later.add(r.recipient() + " (" + r.text() + ")");
                    }
                }
                if (!later.isEmpty()) {
                    copy.drop();
                    return new Outcome(new Deferred(uid, "message " + uid + ": " + server + " answered "
                            + String.join(", ", later) + "; the message stays on the server and is delivered at the "
                            + "next firing", false, null), null);
                }
                if (!refused.isEmpty()) {
                    keep = true;
                    problem.add("message " + uid + ": " + server + " refused " + String.join(", ", refused)
                            + "; that copy is in the local mailbox '" + unroutable + "'");
                }
            }
            for (String box : local) {
                if (box.equals(unroutable)) {
                    keep = true; // the spool's own copy is this mailbox's copy
                    continue;
                }
                try (InputStream in = copy.open()) {
                    copies.add(maildir(box).write(unique, in::transferTo));
                }
            }
            if (keep) {
                copy.keep();
                spool.sync();
            } else {
                copy.drop();
            }
            for (Maildir.Delivery d : copies) {
                d.complete();
            }
            for (String box : local) {
                maildir(box).sync();
            }
        } catch (IOException | RuntimeException e) {
            copy.drop();
            for (Maildir.Delivery d : copies) {
                d.abandon();
            }
            throw e;
        }
        synchronized (ledger) {
            ledger.stored(uid, size, clock.instant());
        }
        return new Outcome(null, problem.isEmpty() ? null : String.join("; ", problem));
    }

    /** One transaction on an idle session (or a new one); a session whose connection broke is dropped. */
    private List<OfficeSession.Reply> exchange(OfficeServer server, String from, List<String> addresses,
            OfficeSession.Body body) throws IOException {
        BlockingQueue<OfficeSession> sessions = idle.computeIfAbsent(server, k -> new LinkedBlockingQueue<>());
        Semaphore slots = busy.computeIfAbsent(server, k -> new Semaphore(SESSIONS));
        try {
            slots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a session to " + server);
        }
        try {
            OfficeSession session = sessions.poll();
            if (session == null) {
                session = OfficeSession.open(server, timeout);
            }
            try {
                List<OfficeSession.Reply> replies = session.deliver(from, addresses, body);
                sessions.add(session);
                return replies;
            } catch (IOException | RuntimeException e) {
                session.close();
                throw e;
            }
        } finally {
            slots.release();
        }
    }

    private Maildir maildir(String mailbox) throws IOException {
        Maildir m = maildirs.get(mailbox);
        if (m == null) {
            m = Maildir.open(mailboxes.resolve(mailbox));
            Maildir before = maildirs.putIfAbsent(mailbox, m);
            m = before != null ? before : m;
        }
        return m;
    }

    private static String reason(IOException e) {
        if (e instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (e instanceof java.net.SocketTimeoutException) {
            return "no answer in time (key 'timeout')";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * The envelope sender from the fetched copy's own header block. Not from the collection's headers: on POP3
     * those cost a TOP command, a second round trip and a second read of the message at the server.
     */
    private static String envelopeFrom(Spooled copy) throws IOException {
        try (InputStream in = copy.open()) {
            return envelopeFrom(new InternetHeaders(in)::getHeader);
        } catch (MessagingException e) {
            return "";
        }
    }

    /**
     * The envelope sender, as fetchmail picks it: the collected message's Return-Path, else Sender, else From;
     * the null sender only when none holds an address.
     */
    static String envelopeFrom(Router.Headers headers) {
        for (String h : new String[] {"Return-Path", "Sender", "From"}) {
            try {
                String[] v = headers.get(h);
                if (v != null && v.length > 0) {
                    List<String> a = Router.addresses(v[0]);
                    if (!a.isEmpty() && a.get(0).matches("[^\\s<>]+@[^\\s<>]+")) {
                        return a.get(0);
                    }
                }
            } catch (Exception e) {
                // an unreadable header: try the next
            }
        }
        return "";
    }

    @Override
    public boolean full() {
        // no barrier: answered messages are taken in as the next ones are handed over
        return false;
    }

    @Override
    public List<Deferred> commit(Ledger ledger) throws IOException {
        while (!pending.isEmpty()) {
            take(pending.pollFirst());
        }
        synchronized (ledger) {
            ledger.sync();
        }
        List<Deferred> out = List.copyOf(deferred);
        deferred.clear();
        IOException f = failure;
        failure = null;
        if (f != null) {
            throw f;
        }
        return out;
    }

    @Override
    public int failed() {
        return 0;
    }

    @Override
    public void close() {
        senders.shutdownNow();
        try {
            senders.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (BlockingQueue<OfficeSession> q : idle.values()) {
            for (OfficeSession s; (s = q.poll()) != null;) {
                s.close();
            }
        }
    }
}
