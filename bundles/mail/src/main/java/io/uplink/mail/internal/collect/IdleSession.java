package io.uplink.mail.internal.collect;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;


import org.eclipse.angus.mail.iap.ResponseHandler;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.eclipse.angus.mail.imap.protocol.IMAPResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.net.SessionDeadline;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Store;

/**
 * Live delivery for one IMAP collector with {@code idle = true}: while one of its connections is due
 * ({@link IdleGate}), one IDLE session (RFC 2177) stays open on the collector's folder, and every EXISTS the
 * server sends makes the collector collect at once, through {@link MailCollectorComponent#collect} and so
 * through the same exactly-once path (and the same single-flight lock) as a firing.
 *
 * <ul>
 *   <li>Each IDLE lasts at most {@code idle.renew} (29 minutes): the session's read timeout is that long, and
 *   Angus answers a read timeout inside IDLE by sending DONE; the loop then issues IDLE again. A server that
 *   does not answer the DONE within {@code timeout} has dropped the session.</li>
 *   <li>A session that fails or drops is opened again after 1 s, doubling up to 5 minutes while it keeps
 *   failing; a session that reached IDLE starts the backoff again from 1 s.</li>
 *   <li>A watcher checks every few seconds whether the collector should still idle; when it should not (the
 *   connection is no longer due, the session was stopped) it closes the session's sockets ({@link IdleSockets}),
 *   which ends a blocked IDLE at once even when the server no longer answers.</li>
 *   <li>At most one session per collector id in this JVM: {@link #start} stops the one before and the new
 *   thread waits until the old one has ended before it connects.</li>
 * </ul>
 */
final class IdleSession {

    private static final Logger LOG = LoggerFactory.getLogger(IdleSession.class);
    /** The running session of each collector id. */
    private static final Map<String, IdleSession> SESSIONS = new ConcurrentHashMap<>();
    private static final ScheduledExecutorService WATCHER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "uplink-idle-watcher");
        t.setDaemon(true);
        return t;
    });

    /** Ends IDLE commands for their renewal: Angus's DONE waits for the server's answer, so not on the watcher. */
    private static final java.util.concurrent.ExecutorService RENEWER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "uplink-idle-renew");
        t.setDaemon(true);
        return t;
    });

    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
    /** How often the watcher asks whether the collector should still idle. */
    static final Duration CHECK_EVERY = Duration.ofSeconds(5);

    /** Which linked connection makes idling due now; the reason when none does. */
    record Verdict(String connection, String reason) {
        static Verdict due(String connection) {
            return new Verdict(connection, "");
        }

        static Verdict notDue(String reason) {
            return new Verdict(null, reason);
        }

        boolean isDue() {
            return connection != null;
        }
    }

    /** Whether the collector should idle now, and through which connection. */
    @FunctionalInterface
    interface Gate {
        Verdict check();
    }

    /** The collector's collect code, run for one idle trigger. */
    @FunctionalInterface
    interface Collector {
        CollectReport collect(TaskContext context) throws InterruptedException;
    }

    private final CollectorSettings cfg;
    /** In a cluster: the node's leases (one IDLE session per collector cluster-wide); {@code null} on a single node. */
    private final IdleLeases leases;
    /** The key of {@link #SESSIONS}: the collector id, with the node's id in a cluster (tests run nodes in one JVM). */
    private final String key;
    private final SignIn signIn;
    private final Gate gate;
    private final Collector collector;
    private final Duration checkEvery;
    private final Thread thread;
    private final Object wake = new Object();
    private volatile boolean stopped;
    private volatile IdleSockets sockets;
    private volatile IdleSession previous;
    private volatile String state = "starting";
    /** Why the last session ended, in the user's words. */
    private volatile String failure;
    private ScheduledFuture<?> watch;
    /** The folder in IDLE and since when ({@link System#nanoTime}), or null. */
    private volatile IMAPFolder idleFolder;
    private volatile long idleSince;
    private final AtomicBoolean renewing = new AtomicBoolean();

    /** Counters for the status and the tests. */
    private final AtomicInteger sessionsOpened = new AtomicInteger();
    private final AtomicInteger idles = new AtomicInteger();
    private final AtomicInteger collections = new AtomicInteger();
    /** When the last EXISTS arrived ({@link System#nanoTime}), for the latency benchmark. */
    private volatile long lastExists;

    private IdleSession(CollectorSettings cfg, SignIn signIn, Gate gate, Collector collector, Duration checkEvery,
            IdleLeases leases) {
        this.cfg = cfg;
        this.leases = leases;
        this.key = leases == null ? cfg.id() : leases.nodeId() + "/" + cfg.id();
        this.signIn = signIn;
        this.gate = gate;
        this.collector = collector;
        this.checkEvery = checkEvery;
        this.thread = new Thread(this::run, "uplink-idle-" + cfg.id());
        thread.setDaemon(true);
    }

    /**
     * Starts idling for the collector of {@code cfg}, ending the collector's session before (a changed
     * configuration, a restarted component): never two IDLE sessions for one collector.
     */
    static IdleSession start(CollectorSettings cfg, SignIn signIn, Gate gate, Collector collector) {
        return start(cfg, signIn, gate, collector, CHECK_EVERY);
    }

    static IdleSession start(CollectorSettings cfg, SignIn signIn, Gate gate, Collector collector, Duration checkEvery) {
        return start(cfg, signIn, gate, collector, checkEvery, null);
    }

    /**
     * In a cluster ({@code leases} not null): idles only while this node holds the collector's lease, so that one
     * node cluster-wide keeps the collector's IDLE session; the others wait and take over when that node dies.
     */
    static IdleSession start(CollectorSettings cfg, SignIn signIn, Gate gate, Collector collector, Duration checkEvery,
            IdleLeases leases) {
        IdleSession s = new IdleSession(cfg, signIn, gate, collector, checkEvery, leases);
        IdleSession before = SESSIONS.put(s.key, s);
        if (before == null) {
            // the cluster service came or left: the session under the other kind of key is the one before
            for (Map.Entry<String, IdleSession> e : SESSIONS.entrySet()) {
                boolean otherKind = leases == null ? e.getKey().endsWith("/" + cfg.id()) : e.getKey().equals(cfg.id());
                if (otherKind && before == null) {
                    before = e.getValue();
                }
            }
        }
        if (before != null) {
            before.stop();
            s.previous = before;
        }
        s.watch = WATCHER.scheduleWithFixedDelay(s::watch, checkEvery.toMillis(), checkEvery.toMillis(),
                TimeUnit.MILLISECONDS);
        s.thread.start();
        return s;
    }

    /** Ends the session of collector {@code id}, if any (the collector was removed or set to idle = false). */
    static void stop(String id) {
        IdleSession s = SESSIONS.get(id);
        if (s == null) {
            // in a cluster the key carries the node: stop the collector's session on every node of this JVM
            SESSIONS.forEach((k, v) -> {
                if (k.endsWith("/" + id)) {
                    v.stop();
                }
            });
        }
        if (s != null) {
            s.stop();
        }
    }

    /** Ends idling: the open session is cut, a collection under way stops between messages. Returns at once. */
    void stop() {
        stopped = true;
        SESSIONS.remove(key, this);
        if (watch != null) {
            watch.cancel(false);
        }
        IdleSockets s = sockets;
        if (s != null) {
            s.closeAll();
        }
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /** Waits up to {@code timeout} for the session's thread to end; whether it did. */
    boolean awaitEnd(Duration timeout) throws InterruptedException {
        thread.join(Math.max(1, timeout.toMillis()));
        return !thread.isAlive();
    }

    /** What the session is doing, in words, for the collector's status. */
    String state() {
        return state;
    }

    int sessionsOpened() {
        return sessionsOpened.get();
    }

    int idles() {
        return idles.get();
    }

    int collections() {
        return collections.get();
    }

    long lastExists() {
        return lastExists;
    }

    private void watch() {
        IdleSockets s = sockets;
        if (s != null && (stopped || !gate.check().isDue() || leases != null && !leases.held(cfg.id()))) {
            s.closeAll();
            return;
        }
        IMAPFolder f = idleFolder;
        long since = idleSince;
        // renew early rather than late: this check runs every checkEvery
        if (f != null && System.nanoTime() - since + checkEvery.toNanos() >= cfg.idleRenew.toNanos()
                && renewing.compareAndSet(false, true)) {
            RENEWER.execute(() -> {
                try {
                    // any command on the folder ends the IDLE (DONE) and waits until the idling thread has the answer
                    f.doCommand(protocol -> null);
                } catch (MessagingException | RuntimeException e) {
                    LOG.debug("collector '{}': ending the IDLE for its renewal: {}", cfg.id(), e.toString());
                } finally {
                    renewing.set(false);
                }
            });
        }
    }

    private void run() {
        try {
            IdleSession before = previous;
            previous = null;
            if (before != null) {
                // its sockets are closed: it ends as soon as its blocked read fails
                while (!before.awaitEnd(Duration.ofSeconds(1))) {
                    LOG.debug("collector '{}': waiting for the previous IDLE session to end", cfg.id());
                }
            }
            Duration backoff = Duration.ZERO;
            String lastReason = null;
            while (!stopped) {
                Verdict v = gate.check();
                if (!v.isDue()) {
                    if (!v.reason().equals(lastReason)) {
                        LOG.info("collector '{}': not idling: {}", cfg.id(), v.reason());
                        lastReason = v.reason();
                    }
                    state = "not idling: " + v.reason();
                    pause(checkEvery);
                    continue;
                }
                if (leases != null) {
                    Optional<String> other = lease();
                    if (other.isPresent()) {
                        if (!other.get().equals(lastReason)) {
                            LOG.info("collector '{}': not idling here: {}", cfg.id(), other.get());
                            lastReason = other.get();
                        }
                        state = "not idling here: " + other.get();
                        pause(checkEvery);
                        continue;
                    }
                }
                lastReason = null;
                AtomicBoolean reachedIdle = new AtomicBoolean();
                failure = null;
                try {
                    idleOver(v.connection(), reachedIdle);
                } catch (MessagingException | RuntimeException e) {
                    // the watcher cut the session because this node lost the lease (its database session ended)
                    boolean lostLease = leases != null && !leases.held(cfg.id());
                    releaseLease();
                    if (stopped || !gate.check().isDue()) {
                        continue;
                    }
                    if (lostLease) {
                        LOG.warn("collector '{}': this node lost its IDLE lease (its database session ended); another"
                                + " node may idle on it now", cfg.id());
                        continue;
                    }
                    backoff = reachedIdle.get() || backoff.isZero() ? FIRST_BACKOFF
                            : backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                    String why = failure != null ? failure : e.toString();
                    state = "reconnecting in " + SessionDeadline.human(backoff) + ": " + why;
                    LOG.warn("collector '{}': the IDLE session with {} ended: {}; connecting again in {}", cfg.id(),
                            cfg.server(), why, SessionDeadline.human(backoff));
                    pause(backoff);
                }
                releaseLease();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            releaseLease();
            state = "stopped";
            LOG.info("collector '{}': idling stopped", cfg.id());
        }
    }

    /** Takes the collector's lease for this node: empty when taken, else why not (another node has it). */
    private Optional<String> lease() {
        try {
            return leases.take(cfg.id());
        } catch (java.sql.SQLException e) {
            return Optional.of("the cluster database does not answer (" + e.getMessage() + ")");
        }
    }

    private void releaseLease() {
        if (leases != null) {
            leases.release(cfg.id());
        }
    }

    /**
     * One IDLE session over {@code connection}: collect what is waiting, then IDLE and collect on each EXISTS,
     * until stopped or no longer due (returns) or the session fails (throws).
     */
    private void idleOver(String connection, AtomicBoolean reachedIdle) throws MessagingException, InterruptedException {
        IdleSockets own = new IdleSockets();
        sockets = own;
        if (stopped) {
            own.closeAll();
        }
        TaskContext sessionContext = context(connection, "idle-session");
        SessionDeadline deadline = new SessionDeadline(cfg.timeout, cfg.minRate, sessionContext);
        // the Maildirs and the ledger belong to the collections; this session only listens
        Collection c = new Collection(cfg, null, null, java.time.Clock.systemUTC(), signIn);
        Properties p = c.properties(deadline, own::opened);
        Duration renew = cfg.idleRenew;
        Thread t = Thread.currentThread();
        ClassLoader loader = t.getContextClassLoader();
        t.setContextClassLoader(Session.class.getClassLoader());
        Store store = Session.getInstance(p).getStore("imap");
        try {
            IMAPFolder folder = (IMAPFolder) c.signIn(store);
            if (!Collection.hasCapability(folder, "IDLE")) {
                throw new MessagingException("the server does not offer IDLE (RFC 2177); set idle = false and let "
                        + "the schedule collect");
            }
            sessionsOpened.incrementAndGet();
            AtomicBoolean exists = new AtomicBoolean(true); // first collect what arrived while no session was open
            ResponseHandler onExists = r -> {
                if (r instanceof IMAPResponse ir && ir.keyEquals("EXISTS")) {
                    lastExists = System.nanoTime();
                    exists.set(true);
                }
            };
            folder.doCommand(protocol -> {
                protocol.addResponseHandler(onExists);
                return null;
            });
            LOG.info("collector '{}': idling on {} over connection '{}'", cfg.id(), cfg.server(), connection);
            while (!stopped && gate.check().isDue()) {
                if (exists.getAndSet(false)) {
                    collectNow(connection);
                    // what arrived while collecting: a NOOP has the server tell this session (some servers
                    // announce it at the next command only, not when IDLE starts)
                    folder.doCommand(protocol -> {
                        protocol.noop();
                        return null;
                    });
                    continue;
                }
                state = "idling on " + cfg.server() + " over connection '" + connection + "'";
                deadline.waiting(renew.plus(cfg.timeout), "idling");
                idles.incrementAndGet();
                reachedIdle.set(true);
                idleSince = System.nanoTime();
                idleFolder = folder;
                try {
                    folder.idle(true);
                } finally {
                    idleFolder = null;
                }
                if (!folder.isOpen()) {
                    throw new MessagingException(Optional.ofNullable(deadline.failure())
                            .orElse("the server closed the IDLE session"));
                }
            }
        } catch (MessagingException | RuntimeException e) {
            failure = c.describe(e);
            throw e;
        } finally {
            deadline.closing();
            own.closeAll();
            try {
                store.close();
            } catch (MessagingException | RuntimeException e) {
                LOG.debug("collector '{}': closing the IDLE session: {}", cfg.id(), e.toString());
            }
            t.setContextClassLoader(loader);
        }
    }

    private void collectNow(String connection) throws InterruptedException {
        int n = collections.incrementAndGet();
        state = "collecting (idle) over connection '" + connection + "'";
        CollectReport r = collector.collect(context(connection, "idle-" + cfg.id() + "-" + n));
        if (!r.errors().isEmpty()) {
            LOG.warn("collector '{}': collecting on IDLE: {}", cfg.id(), r.errors().get(0));
        } else if (r.collected() > 0) {
            LOG.info("collector '{}': {} collected on IDLE", cfg.id(), r.collected());
        }
    }

    private TaskContext context(String connection, String firingId) {
        return new TaskContext() {
            @Override
            public String connectionId() {
                return connection;
            }

            @Override
            public String connectionName() {
                return connection;
            }

            @Override
            public String firingId() {
                return firingId;
            }

            @Override
            public boolean linkUp() {
                return !stopped;
            }

            @Override
            public void progress(String message, int done, int total) {
                // an idle collection is shown in the collector's status, not as a firing's progress
            }
        };
    }

    private void pause(Duration d) throws InterruptedException {
        long end = System.nanoTime() + d.toNanos();
        synchronized (wake) {
            for (long left = d.toMillis(); !stopped && left > 0; left = (end - System.nanoTime()) / 1_000_000) {
                wake.wait(left);
            }
        }
    }

    @Override
    public String toString() {
        return "IDLE session of collector '" + cfg.id() + "': " + state;
    }
}
