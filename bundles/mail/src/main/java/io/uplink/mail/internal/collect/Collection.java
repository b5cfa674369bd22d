package io.uplink.mail.internal.collect;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.function.Consumer;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import org.eclipse.angus.mail.iap.ByteArray;
import org.eclipse.angus.mail.iap.Response;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.eclipse.angus.mail.imap.protocol.BODY;
import org.eclipse.angus.mail.imap.protocol.FetchResponse;
import org.eclipse.angus.mail.imap.protocol.IMAPResponse;
import org.eclipse.angus.mail.imap.protocol.MessageSet;
import org.eclipse.angus.mail.imap.protocol.RFC822SIZE;
import org.eclipse.angus.mail.imap.protocol.UID;
import org.eclipse.angus.mail.imap.protocol.UIDSet;
import org.eclipse.angus.mail.pop3.POP3Folder;
import org.eclipse.angus.mail.pop3.POP3Store;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.ledger.FileLedgers;
import io.uplink.mail.internal.ledger.Ledger;
import io.uplink.mail.internal.ledger.LedgerStore;
import io.uplink.mail.internal.net.SessionDeadline;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Fsyncs;
import io.uplink.mail.internal.tls.Tls;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.FetchProfile;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.UIDFolder;

/**
 * One run of one Mail Collector: log in, list, store every new message durably in its Maildirs, record
 * it in the UID ledger, and only then delete it on the server (or leave it there for
 * {@code leaveOnServer.days}).
 *
 * <p>Order of durability, per batch of messages: each file is fsync'd as it is written, the Maildir
 * directories are fsync'd, the ledger records the batch, and the ledger is fsync'd before any deletion is
 * sent. POP3 deletes only at QUIT, so the whole run's messages are durable before {@code close(true)}; IMAP
 * marks every stored message {@code \Deleted} in one STORE and expunges just those.
 */
public final class Collection {

    private static final Logger LOG = LoggerFactory.getLogger(Collection.class);
    /** IMAP messages looked at for one FETCH ahead. */
    private static final int IMAP_AHEAD = 256;
    private static final int IMAP_FETCH_BLOCK = 256 * 1024;
    /**
     * IMAP messages up to this size are fetched many at a time, one FETCH for up to {@link #IMAP_AHEAD} of them
     * and at most {@link #IMAP_AHEAD_BYTES} in memory, instead of one round trip each; larger ones stream one by one.
     */
    private static final long IMAP_BATCH_FETCH_MAX = 64 * 1024;
    private static final long IMAP_AHEAD_BYTES = 2 * 1024 * 1024;
    /**
     * Runs the FETCH of the next block of small IMAP messages while the collector's thread stores the current
     * one (see {@link #collect}); threads are kept a few seconds for the next runs.
     */
    private static final java.util.concurrent.ThreadPoolExecutor FETCHERS =
            Fsyncs.pool("uplink-collector-fetch-", Integer.MAX_VALUE);

    /** Sessions refused as "too many" are asked for this many times in all. */
    static final int BUSY_TRIES = 5;
    private static final java.util.regex.Pattern BUSY = java.util.regex.Pattern.compile(
            "\\[IN-USE\\]|\\[UNAVAILABLE\\]|too many (connections|sessions|simultaneous)|maximum number of connections",
            java.util.regex.Pattern.CASE_INSENSITIVE);

    /** How the collector waits before asking a busy server again (a test makes it instant). */
    @FunctionalInterface
    interface Pause {
        void sleep(long millis) throws InterruptedException;
    }

    private Pause pause = Thread::sleep;

    private final CollectorSettings cfg;
    private final Path mailboxes;
    private final LedgerStore ledgers;
    private final Clock clock;

    private Destination destination;
    private final List<String> errors = new ArrayList<>();
    /** IMAP: the raw bytes of the messages fetched in blocks and not stored yet, by message (at most two blocks). */
    private final Map<Message, ByteArray> fetched = new HashMap<>();
    private int collected;
    private int skipped;
    /** The deadlines of this run's session with the server (see {@link SessionDeadline}). */
    private SessionDeadline deadline;
    /** The session's outermost socket as Angus uses it (the TLS one after STARTTLS). */
    private volatile Socket socket;
    /** POP3: the RETRs of this run, pipelined, or null (lock-step through Angus). */
    private Pop3Pipeline pipeline;
    /** Told of each socket the session opens, besides {@link #socket} (the IDLE session keeps them to cut them). */
    private Consumer<Socket> opened = s -> { };
    /** IMAP: the messages above the ledger's mark, in UID order (see {@link #markHandled}). */
    private List<Listed> imapAbove = List.of();
    /** IMAP: the folder's UIDNEXT when it was opened (0 or less: not sent). */
    private long imapNext;

    /** A message on the server, as listed. */
    private record Listed(Message message, String uid, long size) {
    }

    /**
     * IMAP: the bytes of the small messages of the listed messages from a block's start up to {@code end}
     * (exclusive; the messages left out are fetched one by one when their turn comes).
     */
    private record Block(Map<Message, ByteArray> bytes, int end) {
    }

    private final SignIn signIn;
    /**
     * The server host's session places ({@code maxSessionsPerHost}), or null: one is taken right before
     * connecting and given back as soon as the session is over, so the work before and after a session (loading
     * and syncing the ledger, the pauses before asking a busy server again) holds no place.
     */
    private HostSessions hostSessions;
    private boolean inSession;

    public Collection(CollectorSettings cfg, Path mailboxes, Path ledgerFile, Clock clock) {
        this(cfg, mailboxes, ledgerFile, clock, SignIn.password(cfg.password));
    }

    public Collection(CollectorSettings cfg, Path mailboxes, Path ledgerFile, Clock clock, SignIn signIn) {
        this(cfg, mailboxes, clock, signIn, FileLedgers.at(ledgerFile));
    }

    private Collection(CollectorSettings cfg, Path mailboxes, Clock clock, SignIn signIn, LedgerStore ledgers) {
        this.signIn = signIn;
        this.cfg = cfg;
        this.mailboxes = mailboxes;
        this.ledgers = ledgers;
        this.clock = clock;
    }

    /** A run whose ledger {@code ledgers} keeps (a file, or in a cluster the shared database). */
    public static Collection of(CollectorSettings cfg, Path mailboxes, LedgerStore ledgers, Clock clock, SignIn signIn) {
        return new Collection(cfg, mailboxes, clock, signIn, ledgers);
    }

    /** Sessions to the server's host take a place in {@code sessions} while they are open. */
    Collection withHostSessions(HostSessions sessions) {
        this.hostSessions = sessions;
        return this;
    }

    /** Replaces the wait between asks of a busy server. */
    Collection withPause(Pause p) {
        this.pause = p;
        return this;
    }

    /** Runs once. Never throws for a mail or disk problem: it is in the report. */
    public CollectReport run(TaskContext context) throws InterruptedException {
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        // Jakarta Mail and Activation find their providers and handlers through the context class loader
        t.setContextClassLoader(Session.class.getClassLoader());
        deadline = new SessionDeadline(cfg.timeout, cfg.minRate, context);
        try {
            try (Ledger ledger = ledgers.open(cfg.id(), context, clock.instant(), Ledger.inMailboxes(mailboxes));
                    Destination d = Destination.of(cfg, mailboxes, clock, errors::add)) {
                destination = d;
                collectPatiently(ledger, context);
            }
        } catch (MessagingException | IOException | RuntimeException e) {
            errors.add(describe(e));
            LOG.warn("collector '{}' ({}): {}", cfg.id(), cfg.server(), describe(e));
        } finally {
            t.setContextClassLoader(previous);
        }
        if (Thread.interrupted()) {
            throw new InterruptedException("collector '" + cfg.id() + "' interrupted");
        }
        int lost = destination == null ? 0 : destination.failed();
        return new CollectReport(cfg.id(), collected - lost, skipped, errors);
    }

    /**
     * Collects; a server that refuses the session because it has too many ({@code [IN-USE]}, "too many
     * connections", Dovecot's {@code mail_max_userip_connections}) is asked again after 1, 2, 4 and 8 s
     * instead of failing the collector: such a limit frees up as other sessions end.
     */
    private void collectPatiently(Ledger ledger, TaskContext context)
            throws MessagingException, IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                collect(ledger, context);
                return;
            } catch (MessagingException e) {
                if (collected > 0 || attempt >= BUSY_TRIES || !busy(e) || !context.linkUp()) {
                    throw e;
                }
                long wait = 1000L << (attempt - 1);
                LOG.info("collector '{}': {} refused the session ({}); asking again in {} s", cfg.id(), cfg.server(),
                        describe(e), wait / 1000);
                pause.sleep(wait);
            }
        }
    }

    /** Whether the server said it has too many sessions (a limit that frees up), not that the login is wrong. */
    static boolean busy(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m != null && BUSY.matcher(m).find()) {
                return true;
            }
        }
        return false;
    }

    private void collect(Ledger ledger, TaskContext context) throws MessagingException, IOException {
        socket = null;
        pipeline = null;
        Session session = MailSessions.take(properties());
        Store store;
        try {
            store = session.getStore(cfg.protocol.jakartaName());
        } catch (MessagingException | RuntimeException e) {
            MailSessions.give(session, null);
            throw e;
        }
        Folder folder = null;
        try {
            enterSession();
            folder = signIn(store);
            // about 64 bytes of listing per message
            deadline.transfer("listing the messages", 64L * folder.getMessageCount());
            Instant now = clock.instant();
            List<Listed> listed;
            if (folder instanceof IMAPFolder imap) {
                listed = listImap(imap, ledger, now);
                ledger.forgetDeleted(now, Duration.ofDays(cfg.uidlExpiryDays));
            } else {
                listed = listPop3((POP3Folder) folder, ledger, now);
            }

            List<Listed> fetch = new ArrayList<>();
            List<Listed> delete = new ArrayList<>();
            long keep = Duration.ofDays(cfg.leaveOnServerDays).toMillis();
            for (Listed l : listed) {
                // A known UID is ours unless the server already confirmed deleting it or it has another size:
                // then the server reuses UIDs and this is a new message. Collecting it again risks a duplicate;
                // deleting it would lose mail.
                long stored = ledger.collectedAt(l.uid, l.size);
                if (stored >= 0) {
                    if (stored + keep <= now.toEpochMilli()) {
                        delete.add(l);
                    }
                } else if (cfg.maxMessageSize > 0 && l.size > cfg.maxMessageSize) {
                    // reported once, by the firing that first sees it; afterwards the ledger (and the status) holds it
                    if (!ledger.knownOversized(l.uid, l.size)) {
                        skipped++;
                        errors.add("message " + l.uid + " (" + l.size + " bytes) is larger than maxMessageSize ("
                                + cfg.maxMessageSize + " bytes); left on the server");
                        ledger.oversized(l.uid, l.size, now);
                    }
                } else {
                    fetch.add(l);
                }
            }

            Exception failure = null;
            int done = 0;
            pipeline = pipelined(store, fetch);
            // IMAP: small messages come in blocks, one FETCH each. While this thread stores one block, a fetcher
            // thread already fetches the next (when storing needs nothing from the server), so the server and
            // the disk work at the same time. Angus is used by one thread at a time: this one touches the
            // session only after it has waited for the fetch under way (`ahead`).
            IMAPFolder imap = folder instanceof IMAPFolder f ? f : null;
            boolean overlap = imap != null && !storingAsksServer();
            int blockEnd = 0;
            Future<Block> ahead = null;
            try {
                for (int i = 0; i < fetch.size(); i++) {
                    Listed l = fetch.get(i);
                    if (!context.linkUp()) {
                        errors.add("the link went down: stopped after " + done + " of " + fetch.size()
                                + " messages; the rest stays on the server for the next firing");
                        break;
                    }
                    context.progress("collecting", done, fetch.size());
                    try {
                        if (imap != null && i == blockEnd) {
                            Block b = ahead != null ? await(ahead) : fetchBlock(imap, fetch, i);
                            ahead = null;
                            fetched.putAll(b.bytes);
                            blockEnd = b.end;
                            if (overlap && blockEnd < fetch.size()) {
                                int from = blockEnd;
                                ahead = FETCHERS.submit(() -> fetchBlockAside(imap, fetch, from));
                            }
                        }
                        if (!fetched.containsKey(l.message)) {
                            if (ahead != null) {
                                // this one streams through Angus: the fetch ahead finishes first (rare: a large
                                // message among small ones, or one the server left out of its answer)
                                Block b = await(ahead);
                                ahead = null;
                                fetched.putAll(b.bytes);
                                blockEnd = b.end;
                            }
                            deadline.transfer("receiving message " + l.uid, l.size);
                        }
                        store(ledger, l);
                    } catch (Destination.Deferred e) {
                        if (!errors.contains(e.getMessage())) {
                            errors.add(e.getMessage());
                        }
                        if (e.stopRun()) {
                            break;
                        }
                        continue;
                    } catch (MessagingException | IOException e) {
                        failure = e;
                        break;
                    }
                    done++;
                    if (cfg.leaveOnServerDays == 0) {
                        delete.add(l);
                    }
                    if (destination.full() && !settle(destination.commitEarlier(ledger), delete)) {
                        break;
                    }
                }
            } finally {
                // whatever ended the loop, the session is Angus's alone again before anything else uses it
                MaildirDestination.awaitEnd(ahead);
                fetched.clear();
            }
            if (pipeline != null && failure == null) {
                // what was asked ahead must be read before Angus says anything again (DELE, QUIT)
                deadline.transfer("reading the messages asked for ahead", pipeline.outstandingBytes());
                pipeline.drain();
            }
            settle(destination.commit(ledger), delete);
            ledger.sync();
            // only after the sync: the mark never gets ahead of what the ledger holds durably
            markHandled(ledger);
            context.progress("collecting", done, fetch.size());
            if (failure != null) {
                // the connection is in an unknown state: delete nothing now, the ledger settles it next time
                throw failure instanceof MessagingException me ? me : new MessagingException(failure.getMessage(), failure);
            }
            // only what the ledger holds durably may be deleted; commit() has run for every stored message
            if (!delete.isEmpty() && context.linkUp()) {
                deadline.transfer("deleting " + delete.size() + " messages", 32L * delete.size());
                if (pipeline != null) {
                    // POP3 with PIPELINING: the DELEs go out pipelined, QUIT (Angus's close) makes them take effect
                    List<Listed> accepted = deletePipelined(delete);
                    Folder f = folder;
                    folder = null;
                    closeConfirming(f, false);
                    leaveSession();
                    confirmDeleted(ledger, accepted);
                } else if (!delete(folder, delete)) {
                    confirmDeleted(ledger, delete);
                } else {
                    Folder f = folder;
                    folder = null;
                    closeConfirming(f, true);
                    if (f instanceof POP3Folder) {
                        // QUIT ended the POP3 session; an IMAP session ends when the store closes
                        leaveSession();
                    }
                    confirmDeleted(ledger, delete);
                }
            }
        } finally {
            deadline.closing();
            if (folder != null && folder.isOpen()) {
                try {
                    folder.close(false);
                } catch (MessagingException e) {
                    LOG.debug("collector '{}': closing the folder: {}", cfg.id(), describe(e));
                }
            }
            try {
                store.close();
            } catch (MessagingException e) {
                LOG.debug("collector '{}': closing: {}", cfg.id(), describe(e));
            }
            leaveSession();
            MailSessions.give(session, store);
        }
    }

    /**
     * Takes in the messages a destination could not take this time: they stay on the server (not deleted,
     * not counted) and are reported, a destination that is down once. Returns false when it is down.
     */
    private boolean settle(List<Destination.Deferred> deferred, List<Listed> delete) {
        boolean down = false;
        for (Destination.Deferred d : deferred) {
            delete.removeIf(l -> l.uid.equals(d.uid()));
            collected--;
            // a destination that is down gives every message the same reason: say it once
            if (!errors.contains(d.getMessage())) {
                errors.add(d.getMessage());
            }
            down |= d.stopRun();
        }
        return !down;
    }

    /** Waits for a place among the host's sessions (once per session). */
    private void enterSession() throws InterruptedIOException {
        if (hostSessions == null || inSession) {
            return;
        }
        try {
            hostSessions.acquire(cfg.host);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a session to " + cfg.host);
        }
        inSession = true;
    }

    /** Gives the session's place back (once). */
    private void leaveSession() {
        if (inSession) {
            inSession = false;
            hostSessions.release(cfg.host);
        }
    }

    /** Connects and opens the folder; a refused OAuth2 token gets one fresh token and one more try. */
    Folder signIn(Store store) throws MessagingException {
        String secret = signIn.secret();
        boolean retried = false;
        while (true) {
            boolean opening = false;
            try {
                deadline.connecting(cfg.host + ":" + cfg.port);
                store.connect(cfg.host, cfg.port, cfg.username, secret);
                deadline.command("opening the folder");
                Folder f = store.getFolder(cfg.folder);
                if (!f.exists()) {
                    throw new MessagingException("the folder '" + cfg.folder + "' does not exist on the server (key 'folder')");
                }
                opening = true;
                f.open(Folder.READ_WRITE);
                return f;
            } catch (MessagingException e) {
                if (!signIn.isRefusal(e, opening)) {
                    throw e;
                }
                String again = retried ? null : signIn.afterRefusal(secret);
                if (again == null) {
                    throw signIn.refused(cfg.username, e);
                }
                retried = true;
                secret = again;
                try {
                    store.close();
                } catch (MessagingException closing) {
                    LOG.debug("collector '{}': closing after a refused login: {}", cfg.id(), describe(closing));
                }
            }
        }
    }

    private void confirmDeleted(Ledger ledger, List<Listed> deleted) throws IOException {
        List<String> uids = new ArrayList<>(deleted.size());
        for (Listed l : deleted) {
            uids.add(l.uid);
        }
        ledger.deleted(uids, clock.instant());
        ledger.sync();
    }

    /**
     * POP3 offers nothing smaller than the whole list (UIDL and LIST). It is taken into the ledger a line at a
     * time as it is read ({@link Pop3Listing}), so that 100,000 known messages make no object each: only the
     * messages that matter (new, too large, due for deletion) are listed for the rest of the firing.
     */
    private List<Listed> listPop3(POP3Folder pop, Ledger ledger, Instant now) throws MessagingException, IOException {
        Ledger.Listing listing = ledger.listing();
        long keep = Duration.ofDays(cfg.leaveOnServerDays).toMillis();
        List<Listed> out = new ArrayList<>();
        Pop3Listing.Line each = (number, uid, size) -> {
            long stored = listing.seen(uid, size);
            if (stored < 0 || stored + keep <= now.toEpochMilli()) {
                out.add(new Listed(pop.getMessage(number), uid.toString(), size));
            }
        };
        if (!Pop3Listing.read(pop, pop.getMessageCount(), offersPipelining(pop.getStore()), each)) {
            for (Listed l : list(pop)) {
                each.message(l.message.getMessageNumber(), l.uid, l.size);
            }
        }
        listing.finish(now, Duration.ofDays(cfg.uidlExpiryDays));
        return out;
    }

    /** POP3 through Angus's API: the whole list as message objects (when {@link Pop3Listing} cannot read it). */
    private List<Listed> list(POP3Folder pop) throws MessagingException {
        Message[] messages = pop.getMessages();
        FetchProfile fp = new FetchProfile();
        fp.add(UIDFolder.FetchProfileItem.UID);
        List<Listed> out = new ArrayList<>(messages.length);
        pop.fetch(messages, fp);
        int[] sizes = messages.length == 0 ? new int[0] : pop.getSizes();
        for (int i = 0; i < messages.length; i++) {
            String uid = pop.getUID(messages[i]);
            if (uid == null) {
                throw new MessagingException("the server does not support UIDL, so collected messages cannot be "
                        + "told apart from new ones; collecting from it is not safe");
            }
            out.add(new Listed(messages[i], uid, i < sizes.length ? sizes[i] : -1));
        }
        return out;
    }

    /**
     * IMAP lists only what can matter, never the folder's whole list: the messages above the ledger's mark
     * ({@code UID FETCH n:* (UID RFC822.SIZE)}), those recorded as too large (to see whether they still
     * are), and those the ledger says are due for deletion. IMAP keys a message by UIDVALIDITY/UID; a new
     * UIDVALIDITY (a server that rebuilt its index) voids every UID collected before: what the folder holds
     * cannot be told apart from new mail, so it is collected again rather than risk losing any. The firing
     * that sees the change says so.
     */
    private List<Listed> listImap(IMAPFolder imap, Ledger ledger, Instant now) throws MessagingException, IOException {
        long validity = imap.getUIDValidity();
        if (ledger.validity() != validity) {
            if (ledger.validity() != 0 && ledger.size() > 0) {
                errors.add("the server changed the folder's UIDVALIDITY (now " + validity + "): its "
                        + imap.getMessageCount() + " messages cannot be told apart from those collected before, so "
                        + "they are collected again (duplicates are possible; nothing is lost)");
            }
            ledger.validity(validity);
        }
        imapNext = imap.getUIDNext();
        String prefix = validity + "/";
        long mark = ledger.handledUpTo();
        List<Listed> out = new ArrayList<>();
        java.util.Set<Long> seen = new java.util.HashSet<>();
        if (imap.getMessageCount() > 0) {
            for (long[] e : uidsAndSizes(imap, mark + 1)) {
                // n:* names the highest UID even when it is below n (RFC 3501): only those above the mark count
                if (e[1] > mark && e[0] <= imap.getMessageCount() && seen.add(e[1])) {
                    out.add(new Listed(imap.getMessage((int) e[0]), prefix + e[1], e[2]));
                }
            }
        }
        int above = out.size();
        List<Message> found = new ArrayList<>();
        List<Long> again = new ArrayList<>();
        for (Ledger.Oversized o : ledger.oversized()) {
            if (o.uid().startsWith(prefix)) {
                again.add(Long.parseLong(o.uid().substring(prefix.length())));
            }
        }
        found.addAll(byUid(imap, again));
        List<String> due = ledger.due(prefix, Duration.ofDays(cfg.leaveOnServerDays), now);
        List<Long> dueUids = new ArrayList<>(due.size());
        for (String uid : due) {
            dueUids.add(Long.parseLong(uid.substring(prefix.length())));
        }
        List<Message> dueFound = byUid(imap, dueUids);
        java.util.Set<Long> present = new java.util.HashSet<>();
        for (Message m : dueFound) {
            present.add(imap.getUID(m));
        }
        for (Long uid : dueUids) {
            if (!present.contains(uid)) {
                // removed by another client: nothing to delete, and the entry can expire
                ledger.deleted(prefix + uid, now);
            }
        }
        found.addAll(dueFound);
        if (!found.isEmpty()) {
            FetchProfile fp = new FetchProfile();
            fp.add(UIDFolder.FetchProfileItem.UID);
            fp.add(FetchProfile.Item.SIZE);
            Message[] arr = found.toArray(new Message[0]);
            imap.fetch(arr, fp);
            for (Message m : arr) {
                long uid = imap.getUID(m);
                if (seen.add(uid)) {
                    out.add(new Listed(m, prefix + uid, m.getSize()));
                }
            }
        }
        imapAbove = out.subList(0, above);
        return out;
    }

    /**
     * {@code UID FETCH from:* (UID RFC822.SIZE)}: sequence number, UID and size of each message from {@code from}
     * up, in one command (Angus's {@code getMessagesByUID} and {@code fetch} take two).
     */
    private static List<long[]> uidsAndSizes(IMAPFolder imap, long from) throws MessagingException {
        @SuppressWarnings("unchecked")
        List<long[]> list = (List<long[]>) imap.doCommand(p -> {
            Response[] r = p.command("UID FETCH " + from + ":* (UID RFC822.SIZE)", null);
            List<long[]> out = new ArrayList<>();
            for (Response x : r) {
                if (x instanceof FetchResponse f) {
                    UID uid = f.getItem(UID.class);
                    RFC822SIZE size = f.getItem(RFC822SIZE.class);
                    if (uid != null) {
                        out.add(new long[] {f.getNumber(), uid.uid, size == null ? -1 : size.size});
                    }
                }
            }
            p.notifyResponseHandlers(r);
            p.handleResult(r[r.length - 1]);
            return out;
        });
        return list;
    }

    private static List<Message> byUid(IMAPFolder imap, List<Long> uids) throws MessagingException {
        List<Message> out = new ArrayList<>();
        if (uids.isEmpty()) {
            return out;
        }
        long[] arr = uids.stream().mapToLong(Long::longValue).toArray();
        for (Message m : imap.getMessagesByUID(arr)) {
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * IMAP: moves the ledger's mark up over the messages above it that are handled (stored, or recorded as
     * too large), in UID order, stopping at the first that is not (deferred, failed, link down): the next
     * firing asks from there. When all are, the mark goes to UIDNEXT - 1.
     */
    private void markHandled(Ledger ledger) throws IOException {
        if (imapAbove.isEmpty() && imapNext <= 0) {
            return;
        }
        long mark = ledger.handledUpTo();
        boolean all = true;
        for (Listed l : imapAbove) {
            if (ledger.get(l.uid) == null && !ledger.knownOversized(l.uid, l.size)) {
                all = false;
                break;
            }
            mark = Math.max(mark, Long.parseLong(l.uid.substring(l.uid.indexOf('/') + 1)));
        }
        if (all && imapNext > mark + 1) {
            mark = imapNext - 1;
        }
        ledger.handledUpTo(mark);
    }

    private void store(Ledger ledger, Listed l) throws MessagingException, IOException, Destination.Deferred {
        List<Router.Recipient> recipients;
        try {
            recipients = cfg.router.recipients(l.message::getHeader);
        } catch (MessagingException | IOException e) {
            throw e;
        } catch (Exception e) {
            throw new MessagingException("reading the headers of message " + l.uid + ": " + e.getMessage(), e);
        }
        long cap = l.size < 0 ? Long.MAX_VALUE : Math.max(2 * l.size, l.size + 1024 * 1024);
        ByteArray ahead = fetched.remove(l.message);
        destination.deliver(ledger, l.uid, l.size, recipients, l.message::getHeader, out -> {
            // sized to the message: a 64 KiB buffer for each 4 KiB message was about half of what the collector
            // threads allocated (JFR, many-mailboxes benchmark)
            int buffer = l.size < 0 ? 64 * 1024 : (int) Math.min(64 * 1024, Math.max(8 * 1024, l.size + 512));
            BufferedOutputStream buffered = new BufferedOutputStream(new Capped(out, cap, l.uid), buffer);
            if (ahead != null) {
                buffered.write(ahead.getBytes(), ahead.getStart(), ahead.getCount());
            } else if (pipeline != null) {
                pipeline.retrieve(l.message.getMessageNumber(), buffered);
            } else {
                try {
                    l.message.writeTo(buffered);
                } catch (MessagingException e) {
                    throw new IOException(describe(e), e);
                }
            }
            buffered.flush();
        });
        collected++;
    }

    /**
     * A pipelined RETR loop for {@code fetch} when the server offers PIPELINING and nothing else needs the
     * session while the messages stream in: the Maildir destination (an office server reads the headers for
     * the envelope) and {@code deliverTo} routing (routing by headers asks Angus for them, in lock-step).
     */
    private Pop3Pipeline pipelined(Store store, List<Listed> fetch) throws MessagingException, IOException {
        if (fetch.size() < 2 || storingAsksServer() || socket == null || !offersPipelining(store)) {
            return null;
        }
        int[] numbers = new int[fetch.size()];
        long[] sizes = new long[fetch.size()];
        for (int i = 0; i < numbers.length; i++) {
            numbers[i] = fetch.get(i).message.getMessageNumber();
            sizes[i] = fetch.get(i).size;
        }
        return new Pop3Pipeline(socket, numbers, sizes);
    }

    /** Whether a POP3 server offers PIPELINING (RFC 2449), from the capabilities Angus read at sign-in. */
    private static boolean offersPipelining(Store store) throws MessagingException {
        if (!(store instanceof POP3Store pop)) {
            return false;
        }
        Map<String, String> caps = pop.capabilities();
        return caps != null && caps.containsKey("PIPELINING");
    }

    /**
     * Whether storing a message asks the server for something (its headers, for routing by headers or for an
     * office server's envelope): then nothing is fetched ahead, as the session has one user at a time.
     */
    private boolean storingAsksServer() {
        return cfg.delivery != null || cfg.router.needsHeaders();
    }

    /**
     * Fetches the small ones of the listed messages from {@code from} (up to {@link #IMAP_AHEAD} looked at,
     * {@link #IMAP_AHEAD_BYTES} in all) in one command ({@code BODY.PEEK[]}: the exact bytes, \\Seen left alone).
     * A message the server leaves out of the answer is simply fetched on its own later.
     */
    private Block fetchBlock(IMAPFolder imap, List<Listed> listed, int from) throws MessagingException {
        List<Integer> numbers = new ArrayList<>();
        Map<Integer, Message> byNumber = new HashMap<>();
        long bytes = 0;
        int end = from;
        for (int last = Math.min(listed.size(), from + IMAP_AHEAD); end < last; end++) {
            Listed l = listed.get(end);
            if (l.size >= 0 && l.size <= IMAP_BATCH_FETCH_MAX) {
                if (bytes + l.size > IMAP_AHEAD_BYTES) {
                    break;
                }
                bytes += l.size;
                numbers.add(l.message.getMessageNumber());
                byNumber.put(l.message.getMessageNumber(), l.message);
            }
        }
        Map<Message, ByteArray> out = new HashMap<>();
        if (numbers.size() < 2) {
            return new Block(out, end);
        }
        deadline.transfer("receiving " + numbers.size() + " messages", bytes);
        MessageSet[] sets = MessageSet.createMessageSets(numbers.stream().mapToInt(Integer::intValue).toArray());
        imap.doCommand(p -> {
            Response[] r = p.fetch(sets, "BODY.PEEK[]");
            for (Response x : r) {
                if (x instanceof FetchResponse f && byNumber.containsKey(f.getNumber())) {
                    BODY body = f.getItem(BODY.class);
                    if (body != null && body.getByteArray() != null) {
                        out.put(byNumber.get(f.getNumber()), body.getByteArray());
                    }
                }
            }
            p.notifyResponseHandlers(r);
            p.handleResult(r[r.length - 1]);
            return null;
        });
        return new Block(out, end);
    }

    /** {@link #fetchBlock} on a fetcher thread, with the class loader Jakarta Mail expects (as {@link #run} sets it). */
    private Block fetchBlockAside(IMAPFolder imap, List<Listed> listed, int from) throws MessagingException {
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        t.setContextClassLoader(Session.class.getClassLoader());
        try {
            return fetchBlock(imap, listed, from);
        } finally {
            t.setContextClassLoader(previous);
        }
    }

    /** The block fetched ahead; its failure is this thread's, as if it had fetched the block itself. */
    private static Block await(Future<Block> ahead) throws MessagingException, IOException {
        try {
            return ahead.get();
        } catch (InterruptedException e) {
            // the fetch cannot be cut short: it ends within the session's deadline, and must end before Angus
            // is used again
            MaildirDestination.awaitEnd(ahead);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fetching messages");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof MessagingException me) {
                throw me;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new MessagingException(String.valueOf(c), c instanceof Exception x ? x : null);
        }
    }

    /** Closes the folder (POP3: QUIT, which makes the deletions take effect); a failure says what it means. */
    private void closeConfirming(Folder f, boolean expunge) throws MessagingException {
        try {
            f.close(expunge);
        } catch (MessagingException e) {
            throw new Explained("the server did not confirm the deletions (" + describe(e)
                    + "); the messages are stored and will be deleted on the next firing", e);
        }
    }

    /**
     * POP3: {@link Pop3Pipeline#delete} of {@code delete}; returns those the server accepted. A refused one stays
     * on the server, stored and recorded as not deleted, so the next firing asks again; the run says so once.
     */
    private List<Listed> deletePipelined(List<Listed> delete) throws MessagingException {
        int[] numbers = new int[delete.size()];
        for (int i = 0; i < numbers.length; i++) {
            numbers[i] = delete.get(i).message.getMessageNumber();
        }
        String[] refused;
        try {
            refused = pipeline.delete(numbers);
        } catch (IOException e) {
            throw new Explained("the server did not confirm the deletions (" + describe(e)
                    + "); the messages are stored and will be deleted on the next firing", e);
        }
        List<Listed> accepted = new ArrayList<>(delete.size());
        int refusals = 0;
        for (int i = 0; i < numbers.length; i++) {
            if (refused[i] == null) {
                accepted.add(delete.get(i));
            } else if (refusals++ == 0) {
                errors.add("the server refused to delete message " + delete.get(i).uid + " (" + refused[i]
                        + "); it is stored and will be deleted on the next firing");
            }
        }
        if (refusals > 1) {
            errors.add("the server refused to delete " + refusals + " messages in all; they are stored and will be "
                    + "deleted on the next firing");
        }
        return accepted;
    }

    /** IMAP: the UIDs of {@code listed} (each {@code UIDVALIDITY/UID}) as UID sets. */
    private static UIDSet[] uidSet(List<Listed> listed) {
        long[] uids = new long[listed.size()];
        for (int i = 0; i < uids.length; i++) {
            String u = listed.get(i).uid;
            uids[i] = Long.parseLong(u.substring(u.indexOf('/') + 1));
        }
        java.util.Arrays.sort(uids);
        return UIDSet.createUIDSets(uids);
    }

    /**
     * Whether the server offers {@code capability}, asked on the open folder's own session. The store's
     * {@code hasCapability} asks on the store's connection, which Angus opens and signs in anew while a folder
     * holds the first: a second session and login on every firing that asked.
     */
    static boolean hasCapability(IMAPFolder folder, String capability) throws MessagingException {
        return Boolean.TRUE.equals(folder.doCommand(p -> p.hasCapability(capability)));
    }

    /**
     * The responses to an {@code UID EXPUNGE} without its untagged {@code EXPUNGE}s. Angus renumbers its whole
     * message cache for each of them (a scan of the messages after it), so emptying a mailbox costs CPU that
     * grows with the square of its size: measured 337 ms of the collecting thread at 20,000 messages against
     * 61 ms without. The folder is closed right after this command and no message number is used again, so
     * the renumbering is of no use; every other response is handed on.
     */
    static Response[] withoutExpunged(Response[] responses) {
        List<Response> kept = new ArrayList<>();
        for (Response r : responses) {
            if (!(r instanceof IMAPResponse ir && ir.isUnTagged() && ir.keyEquals("EXPUNGE"))) {
                kept.add(r);
            }
        }
        return kept.toArray(new Response[0]);
    }

    /** Marks the messages deleted; returns whether the folder must be closed with expunge. */
    private boolean delete(Folder folder, List<Listed> delete) throws MessagingException {
        Message[] arr = new Message[delete.size()];
        for (int i = 0; i < arr.length; i++) {
            arr[i] = delete.get(i).message;
        }
        if (folder instanceof IMAPFolder imap) {
            if (hasCapability(imap, "UIDPLUS")) {
                // One UID STORE for all (a flag change per message makes servers rescan the mailbox each time),
                // then UID EXPUNGE of just those: only ours, not what another client marked \Deleted. By the
                // UIDs as listed, rather than Angus's setFlags and expunge(Message[]): those make the server
                // answer each message's new flags (no .SILENT) and first fetch the UIDs Angus was not told
                // (the listing's own command), an answer per message each to read and parse.
                String set = UIDSet.toString(uidSet(delete));
                imap.doCommand(p -> {
                    Response[] r = p.command("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)", null);
                    p.notifyResponseHandlers(r);
                    p.handleResult(r[r.length - 1]);
                    r = p.command("UID EXPUNGE " + set, null);
                    p.notifyResponseHandlers(withoutExpunged(r));
                    p.handleResult(r[r.length - 1]);
                    return null;
                });
                return false;
            }
            // Without UIDPLUS an EXPUNGE removes every \Deleted message, also those another client marked and
            // might still undelete (RFC 4315): unmark them around our EXPUNGE, then mark them again.
            Set<Message> ours = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            ours.addAll(List.of(arr));
            Message[] all = imap.getMessages();
            FetchProfile fp = new FetchProfile();
            fp.add(FetchProfile.Item.FLAGS);
            imap.fetch(all, fp);
            List<Message> others = new ArrayList<>();
            for (Message m : all) {
                if (!ours.contains(m) && m.isSet(Flags.Flag.DELETED)) {
                    others.add(m);
                }
            }
            Message[] theirs = others.toArray(new Message[0]);
            if (theirs.length > 0) {
                imap.setFlags(theirs, new Flags(Flags.Flag.DELETED), false);
            }
            imap.setFlags(arr, new Flags(Flags.Flag.DELETED), true);
            imap.expunge();
            if (theirs.length > 0) {
                imap.setFlags(theirs, new Flags(Flags.Flag.DELETED), true);
            }
            return false;
        }
        for (Message m : arr) {
            // POP3: a local mark; the DELE commands go out in close(true), right before QUIT
            m.setFlag(Flags.Flag.DELETED, true);
        }
        return true;
    }

    /** The session's properties under {@code d}; the IDLE session ({@link IdleSession}) signs in with them too. */
    Properties properties(SessionDeadline d) {
        this.deadline = d;
        return properties();
    }

    /** As {@link #properties(SessionDeadline)}, and {@code opened} is told of every socket the session opens. */
    Properties properties(SessionDeadline d, Consumer<Socket> opened) {
        this.opened = opened;
        return properties(d);
    }

    Properties properties() {
        String p = "mail." + cfg.protocol.jakartaName();
        Properties props = new Properties();
        String millis = String.valueOf(cfg.timeout.toMillis());
        props.setProperty(p + ".connectiontimeout", millis);
        props.setProperty(p + ".timeout", millis);
        props.put(p + ".socketFactory", LineBoundSocketFactories.plain(CollectorSettings.MAX_LINE, deadline, this::opened));
        // never fall back to a socket without our checks
        props.setProperty(p + ".socketFactory.fallback", "false");
        if (cfg.tls != null) {
            props.put(p + ".ssl.socketFactory",
                    LineBoundSocketFactories.tls(cfg.tls, CollectorSettings.MAX_LINE, deadline, this::opened));
            // the host name is checked in the handshake (endpoint identification)
            props.setProperty(p + ".ssl.checkserveridentity", "false");
        }
        switch (cfg.security) {
            case TLS -> props.setProperty(p + ".ssl.enable", "true");
            case STARTTLS -> {
                props.setProperty(p + ".starttls.enable", "true");
                props.setProperty(p + ".starttls.required", "true");
            }
            case STARTTLS_IF_AVAILABLE -> props.setProperty(p + ".starttls.enable", "true");
            default -> { }
        }
        if (cfg.protocol == CollectorSettings.Protocol.IMAP) {
            props.setProperty("mail.imap.peek", "true");
            props.setProperty("mail.imap.partialfetch", "true");
            props.setProperty("mail.imap.fetchsize", String.valueOf(IMAP_FETCH_BLOCK));
        } else {
            // stream RETR straight into the file instead of caching the message in memory
            props.setProperty("mail.pop3.cachewriteto", "false");
            props.setProperty("mail.pop3.keepmessagecontent", "false");
        }
        signIn.configure(props, cfg.protocol.jakartaName()); // after the socket factories: it may wrap them
        return props;
    }

    private void opened(Socket s) {
        socket = s;
        opened.accept(s);
    }

    /** A failure this class already put in the user's words. */
    private static final class Explained extends MessagingException {
        private static final long serialVersionUID = 1L;

        Explained(String message, Exception cause) {
            super(message, cause);
        }
    }

    /** A readable reason, never a password. */
    String describe(Throwable e) {
        if (e instanceof Explained) {
            return e.getMessage();
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof LineTooLongException) {
                return c.getMessage();
            }
        }
        String cert = Tls.certificateProblem(e);
        if (cert != null) {
            return "TLS to " + cfg.host + ":" + cfg.port + " refused: " + cert;
        }
        if (e instanceof SignIn.NotSignedIn) {
            return e.getMessage();
        }
        // what the sockets saw (a deadline, a closed connection) is the truth; Jakarta Mail rewraps it
        String seen = deadline != null ? deadline.failure() : null;
        if (seen != null) {
            return seen;
        }
        if (e instanceof AuthenticationFailedException) {
            String said = deadline != null ? deadline.refusal() : null;
            if (said == null && e.getMessage() != null && !e.getMessage().isBlank()) {
                said = e.getMessage().trim();
            }
            return "login refused" + (said != null ? ": " + said : "") + " (user '" + cfg.username
                    + "', keys 'username' and 'password')";
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ConnectException || c instanceof UnknownHostException) {
                return "cannot connect to " + cfg.host + ":" + cfg.port + ": " + c.getMessage();
            }
            if (c instanceof SocketTimeoutException) {
                return "no answer from " + cfg.host + ":" + cfg.port + " within " + cfg.timeout.toSeconds()
                        + " s (key 'timeout')";
            }
        }
        Throwable root = e;
        StringBuilder b = new StringBuilder(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
            if (root.getMessage() != null && !b.toString().contains(root.getMessage())) {
                b.append(": ").append(root.getMessage());
            }
        }
        return b.toString();
    }

    /** Refuses to write more than a message can honestly be, so a server cannot fill the disk. */
    private static final class Capped extends FilterOutputStream {
        private final long cap;
        private final String uid;
        private long written;

        Capped(OutputStream out, long cap, String uid) {
            super(out);
            this.cap = cap;
            this.uid = uid;
        }

        @Override
        public void write(int b) throws IOException {
            check(1);
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            check(len);
            out.write(b, off, len);
        }

        private void check(int n) throws IOException {
            written += n;
            if (written > cap) {
                throw new IOException("the server sent more than " + cap + " bytes for message " + uid
                        + ", far more than the size it announced; the message was not stored");
            }
        }
    }
}
