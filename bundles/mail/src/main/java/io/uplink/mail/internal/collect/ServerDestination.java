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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.uplink.mail.internal.deliver.OfficeServer;
import io.uplink.mail.internal.deliver.OfficeSession;
import io.uplink.mail.internal.ledger.UidLedger;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Maildir;

/**
 * Delivery to the office's mail server over LMTP or SMTP, with the routed addresses as envelope recipients.
 *
 * <p>Each message is kept in memory (up to 256 KiB) or written to {@code tmp/} of the {@code unroutable}
 * Maildir (the spool) as it is fetched, and sent from there by one of {@link #SESSIONS} sessions, so the server stores several messages at once
 * while the next ones are fetched (an LMTP server forces each message to disk: one session at a time
 * leaves it waiting on the disk). A message counts as delivered, and is recorded in the ledger, once every
 * recipient has a final answer: a 250 from the server, or, for a 5xx or for mail no address matched, the
 * copy stored in the unroutable Maildir. Any 4xx (or the server down) leaves the message on the
 * remote server for the next firing.
 *
 * <p>The ledger's intent names the spool's file, so after a crash a pending message counts as delivered
 * only when its unroutable copy was completed (which happens after every reply was read); otherwise it is
 * delivered again. A SIGKILL therefore never loses a message and gives the office server at most the
 * messages in flight at that moment (at most {@link #SESSIONS}) a second time. The ledger is forced at every
 * commit (a batch), before anything is deleted on the remote server.
 */
final class ServerDestination implements Destination {

    /** Sessions to the office server at once. */
    static final int SESSIONS = 8;
    /** Messages up to this size wait in memory (at most {@link #BATCH} of them), larger ones in the spool. */
    private static final long IN_MEMORY = 256 * 1024;
    /** Messages between commits. */
    private static final int BATCH = 64;

    private final OfficeServer server;
    private final Duration timeout;
    private final Path mailboxes;
    private final String unroutable;
    private final Clock clock;
    private final Consumer<String> problems;
    private final ExecutorService senders;
    private final BlockingQueue<OfficeSession> idle = new LinkedBlockingQueue<>();
    private final List<Future<Outcome>> pending = new ArrayList<>();
    private volatile Deferred down;
    private Maildir spool;

    /** How one message ended: delivered (with an optional problem to report) or deferred. */
    private record Outcome(Deferred deferred, String problem) {
    }

    ServerDestination(OfficeServer server, Duration timeout, Path mailboxes, String unroutable, Clock clock,
            Consumer<String> problems) {
        this.server = server;
        this.timeout = timeout;
        this.mailboxes = mailboxes;
        this.unroutable = unroutable;
        this.clock = clock;
        this.problems = problems;
        this.senders = Executors.newFixedThreadPool(SESSIONS, r -> {
            Thread t = new Thread(r, "uplink-delivery-" + server);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void deliver(UidLedger ledger, String uid, long size, List<Router.Recipient> recipients, Router.Headers headers,
            Maildir.Writer bytes) throws Deferred, IOException {
        Deferred d = down;
        if (d != null) {
            throw d;
        }
        if (spool == null) {
            spool = Maildir.open(mailboxes.resolve(unroutable));
        }
        List<String> addresses = new ArrayList<>(recipients.size());
        for (Router.Recipient r : recipients) {
            if (r.address() != null) {
                addresses.add(r.address());
            }
        }
        String from = envelopeFrom(headers);
        String unique = Maildir.uniqueName();
        synchronized (ledger) {
            ledger.intend(uid, size, unique, List.of(unroutable));
        }
        boolean unroutableCopy = addresses.size() < recipients.size();
        Spooled copy;
        if (size >= 0 && size <= IN_MEMORY) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream((int) size + 1024);
            bytes.writeTo(buffer);
            copy = new InMemory(unique, buffer.toByteArray());
        } else {
            copy = new InSpool(spool.write(unique, bytes));
        }
        pending.add(senders.submit(() -> send(ledger, uid, size, from, addresses, copy, unroutableCopy)));
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

    /** On a sender thread: hands the message over, keeps or drops the spool copy, records the delivery. */
    private Outcome send(UidLedger ledger, String uid, long size, String from, List<String> addresses,
            Spooled copy, boolean unroutableCopy) throws IOException {
        boolean keep = unroutableCopy;
        String problem = null;
        Deferred isDown = down;
        if (isDown != null && !addresses.isEmpty()) {
            // queued behind a failed connection: do not wait for another timeout
            copy.drop();
            return new Outcome(new Deferred(uid, isDown.getMessage(), true, null), null);
        }
        try {
            if (!addresses.isEmpty()) {
                List<String> refused = new ArrayList<>();
                List<String> deferred = new ArrayList<>();
                List<OfficeSession.Reply> replies;
                try {
                    replies = exchange(from, addresses, copy);
                } catch (IOException e) {
                    Deferred d = new Deferred(uid, "cannot deliver to " + server + ": " + reason(e)
                            + "; the messages stay on the server for the next firing (key 'delivery')", true, e);
                    down = d;
                    copy.drop();
                    return new Outcome(d, null);
                }
                for (OfficeSession.Reply r : replies) {
                    if (r.permanent()) {
                        refused.add(r.recipient() + " (" + r.text() + ")");
                    } else if (!r.delivered()) {
                        deferred.add(r.recipient() + " (" + r.text() + ")");
                    }
                }
                if (!deferred.isEmpty()) {
                    copy.drop();
                    return new Outcome(new Deferred(uid, "message " + uid + ": " + server + " answered "
                            + String.join(", ", deferred) + "; the message stays on the server and is delivered at the "
                            + "next firing", false, null), null);
                }
                if (!refused.isEmpty()) {
                    keep = true;
                    problem = "message " + uid + ": " + server + " refused " + String.join(", ", refused)
                            + "; that copy is in the local mailbox '" + unroutable + "'";
                }
            }
        } catch (IOException | RuntimeException e) {
            copy.drop();
            throw e;
        }
        if (keep) {
            copy.keep();
            spool.sync();
        } else {
            copy.drop();
        }
        synchronized (ledger) {
            ledger.stored(uid, size, clock.instant());
        }
        return new Outcome(null, problem);
    }

    /** One transaction on an idle session (or a new one); a session whose connection broke is dropped. */
    private List<OfficeSession.Reply> exchange(String from, List<String> addresses, OfficeSession.Body body) throws IOException {
        OfficeSession session = idle.poll();
        if (session == null) {
            session = OfficeSession.open(server, timeout);
        }
        try {
            List<OfficeSession.Reply> replies = session.deliver(from, addresses, body);
            idle.add(session);
            return replies;
        } catch (IOException | RuntimeException e) {
            session.close();
            throw e;
        }
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
        return pending.size() >= BATCH;
    }

    @Override
    public List<Deferred> commit(UidLedger ledger) throws IOException {
        List<Deferred> deferred = new ArrayList<>();
        IOException failure = null;
        for (Future<Outcome> f : pending) {
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
                throw new InterruptedIOException("interrupted while delivering to " + server);
            }
        }
        pending.clear();
        synchronized (ledger) {
            ledger.sync();
        }
        if (failure != null) {
            throw failure;
        }
        return deferred;
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
        for (OfficeSession s; (s = idle.poll()) != null;) {
            s.close();
        }
    }
}
