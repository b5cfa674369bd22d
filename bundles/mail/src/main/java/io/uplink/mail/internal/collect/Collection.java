package io.uplink.mail.internal.collect;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.eclipse.angus.mail.iap.ByteArray;
import org.eclipse.angus.mail.iap.Response;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.eclipse.angus.mail.imap.IMAPStore;
import org.eclipse.angus.mail.imap.protocol.BODY;
import org.eclipse.angus.mail.imap.protocol.FetchResponse;
import org.eclipse.angus.mail.imap.protocol.MessageSet;
import org.eclipse.angus.mail.pop3.POP3Folder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.auth.SignIn;
import io.uplink.mail.internal.ledger.UidLedger;
import io.uplink.mail.internal.store.Maildir;
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
    /** Messages per directory sync and ledger record (and at most this many files open at once). */
    private static final int BATCH = 64;
    /**
     * Threads that force message files while the next messages are fetched. One fsync waits for the disk
     * (0.2 ms on an idle disk, several ms on a busy one) while several at once cost hardly more than one.
     */
    private static final int FSYNC_THREADS = 4;
    private static final int IMAP_FETCH_BLOCK = 256 * 1024;
    /**
     * IMAP messages up to this size are fetched a batch at a time, one FETCH for up to {@link #BATCH} of them
     * (at most 4 MiB in memory), instead of one round trip each; larger ones stream one by one.
     */
    private static final long IMAP_BATCH_FETCH_MAX = 64 * 1024;

    private final CollectorSettings cfg;
    private final Path mailboxes;
    private final Path ledgerFile;
    private final Clock clock;

    private final Map<String, Maildir> maildirs = new HashMap<>();
    private final Set<Maildir> unsynced = new LinkedHashSet<>();
    private final List<Stored> batch = new ArrayList<>();
    private ExecutorService fsyncs;
    private final List<String> errors = new ArrayList<>();
    /** IMAP: the raw bytes of messages fetched ahead, by message. */
    private final Map<Message, ByteArray> fetched = new HashMap<>();
    private int collected;
    private int skipped;

    /** A message of the current batch: its deliveries are completing (forced, renamed) on the fsync threads. */
    private record Stored(String uid, long size, List<Future<Path>> deliveries) {
    }

    /** A message on the server, as listed. */
    private record Listed(Message message, String uid, long size) {
    }

    private final SignIn signIn;

    public Collection(CollectorSettings cfg, Path mailboxes, Path ledgerFile, Clock clock) {
        this(cfg, mailboxes, ledgerFile, clock, SignIn.password(cfg.password));
    }

    public Collection(CollectorSettings cfg, Path mailboxes, Path ledgerFile, Clock clock, SignIn signIn) {
        this.signIn = signIn;
        this.cfg = cfg;
        this.mailboxes = mailboxes;
        this.ledgerFile = ledgerFile;
        this.clock = clock;
    }

    /** Runs once. Never throws for a mail or disk problem: it is in the report. */
    public CollectReport run(TaskContext context) throws InterruptedException {
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        // Jakarta Mail and Activation find their providers and handlers through the context class loader
        t.setContextClassLoader(Session.class.getClassLoader());
        try {
            Files.createDirectories(ledgerFile.getParent());
            try (UidLedger ledger = UidLedger.open(ledgerFile, clock.instant(), UidLedger.inMailboxes(mailboxes))) {
                fsyncs = Executors.newFixedThreadPool(FSYNC_THREADS, r -> {
                    Thread f = new Thread(r, "uplink-collector-" + cfg.id() + "-fsync");
                    f.setDaemon(true);
                    return f;
                });
                collect(ledger, context);
            } finally {
                if (fsyncs != null) {
                    fsyncs.shutdownNow();
                }
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
        return new CollectReport(cfg.id(), collected, skipped, errors);
    }

    private void collect(UidLedger ledger, TaskContext context) throws MessagingException, IOException {
        Session session = Session.getInstance(properties());
        Store store = session.getStore(cfg.protocol.jakartaName());
        Folder folder = null;
        boolean expunge;
        try {
            folder = signIn(store);
            List<Listed> listed = list(folder);
            List<String> uids = new ArrayList<>(listed.size());
            for (Listed l : listed) {
                uids.add(l.uid);
            }
            Instant now = clock.instant();
            ledger.refresh(uids, now, Duration.ofDays(cfg.uidlExpiryDays));

            List<Listed> fetch = new ArrayList<>();
            List<Listed> delete = new ArrayList<>();
            Duration keep = Duration.ofDays(cfg.leaveOnServerDays);
            for (Listed l : listed) {
                UidLedger.Entry e = ledger.get(l.uid);
                // A known UID is ours unless the server already confirmed deleting it or it has another size:
                // then the server reuses UIDs and this is a new message. Collecting it again risks a duplicate;
                // deleting it would lose mail.
                if (e != null && !e.deletedOnServer() && (e.size() == l.size || l.size < 0)) {
                    if (!Instant.ofEpochMilli(e.stored()).plus(keep).isAfter(now)) {
                        delete.add(l);
                    }
                } else if (cfg.maxMessageSize > 0 && l.size > cfg.maxMessageSize) {
                    skipped++;
                    errors.add("message " + l.uid + " (" + l.size + " bytes) is larger than maxMessageSize ("
                            + cfg.maxMessageSize + " bytes); left on the server");
                } else {
                    fetch.add(l);
                }
            }

            Exception failure = null;
            int done = 0;
            for (int i = 0; i < fetch.size(); i++) {
                Listed l = fetch.get(i);
                if (!context.linkUp()) {
                    errors.add("the link went down: stopped after " + done + " of " + fetch.size()
                            + " messages; the rest stays on the server for the next firing");
                    break;
                }
                context.progress("collecting", done, fetch.size());
                try {
                    if (folder instanceof IMAPFolder imap && fetched.isEmpty()) {
                        fetchAhead(imap, fetch.subList(i, Math.min(fetch.size(), i + BATCH)));
                    }
                    store(ledger, l);
                } catch (MessagingException | IOException e) {
                    failure = e;
                    break;
                }
                done++;
                if (cfg.leaveOnServerDays == 0) {
                    delete.add(l);
                }
                if (batch.size() >= BATCH) {
                    commit(ledger);
                }
            }
            commit(ledger);
            ledger.sync();
            context.progress("collecting", done, fetch.size());
            if (failure != null) {
                // the connection is in an unknown state: delete nothing now, the ledger settles it next time
                throw failure instanceof MessagingException me ? me : new MessagingException(failure.getMessage(), failure);
            }
            // only what the ledger holds durably may be deleted; commit() has run for every stored message
            if (!delete.isEmpty() && context.linkUp()) {
                expunge = delete(folder, delete);
                if (!expunge) {
                    confirmDeleted(ledger, delete);
                } else {
                    Folder f = folder;
                    folder = null;
                    try {
                        f.close(true);
                    } catch (MessagingException e) {
                        throw new MessagingException("the server did not confirm the deletions (" + describe(e)
                                + "); the messages are stored and will be deleted on the next firing", e);
                    }
                    confirmDeleted(ledger, delete);
                }
            }
        } finally {
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
        }
    }

    /** Connects and opens the folder; a refused OAuth2 token gets one fresh token and one more try. */
    private Folder signIn(Store store) throws MessagingException {
        String secret = signIn.secret();
        boolean retried = false;
        while (true) {
            boolean opening = false;
            try {
                store.connect(cfg.host, cfg.port, cfg.username, secret);
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

    private void confirmDeleted(UidLedger ledger, List<Listed> deleted) throws IOException {
        Instant now = clock.instant();
        for (Listed l : deleted) {
            ledger.deleted(l.uid, now);
        }
        ledger.sync();
    }

    private List<Listed> list(Folder folder) throws MessagingException {
        Message[] messages = folder.getMessages();
        FetchProfile fp = new FetchProfile();
        fp.add(UIDFolder.FetchProfileItem.UID);
        List<Listed> out = new ArrayList<>(messages.length);
        if (folder instanceof POP3Folder pop) {
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
        } else {
            IMAPFolder imap = (IMAPFolder) folder;
            fp.add(FetchProfile.Item.SIZE);
            imap.fetch(messages, fp);
            long validity = imap.getUIDValidity();
            for (Message m : messages) {
                out.add(new Listed(m, validity + "/" + imap.getUID(m), m.getSize()));
            }
        }
        return out;
    }

    private void store(UidLedger ledger, Listed l) throws MessagingException, IOException {
        List<String> boxes;
        try {
            boxes = cfg.router.route(l.message::getHeader);
        } catch (MessagingException | IOException e) {
            throw e;
        } catch (Exception e) {
            throw new MessagingException("reading the headers of message " + l.uid + ": " + e.getMessage(), e);
        }
        String unique = Maildir.uniqueName();
        ledger.intend(l.uid, l.size, unique, boxes);
        long cap = l.size < 0 ? Long.MAX_VALUE : Math.max(2 * l.size, l.size + 1024 * 1024);
        List<Maildir.Delivery> written = new ArrayList<>(boxes.size());
        try {
            ByteArray ahead = fetched.remove(l.message);
            Maildir.Delivery first = maildir(boxes.get(0)).write(unique, out -> {
                BufferedOutputStream buffered = new BufferedOutputStream(new Capped(out, cap, l.uid), 64 * 1024);
                if (ahead != null) {
                    buffered.write(ahead.getBytes(), ahead.getStart(), ahead.getCount());
                } else {
                    try {
                        l.message.writeTo(buffered);
                    } catch (MessagingException e) {
                        throw new IOException(describe(e), e);
                    }
                }
                buffered.flush();
            });
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
        batch.add(new Stored(l.uid, l.size, completing));
        collected++;
    }

    /**
     * Waits until every file of the batch is forced and in {@code new/}, makes the renames durable, then
     * records the batch in the ledger. A message whose file could not be made durable is not recorded (it
     * stays on the server); the first such failure is thrown after the others are recorded.
     */
    private void commit(UidLedger ledger) throws IOException {
        List<Stored> durable = new ArrayList<>(batch.size());
        IOException failure = null;
        for (Stored s : batch) {
            try {
                for (Future<Path> f : s.deliveries) {
                    f.get();
                }
                durable.add(s);
            } catch (ExecutionException e) {
                collected--;
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
    }

    /**
     * Fetches the small ones of {@code next} in one command ({@code BODY.PEEK[]}: the exact bytes, \\Seen left
     * alone). A message the server leaves out of the answer is simply fetched on its own later.
     */
    private void fetchAhead(IMAPFolder imap, List<Listed> next) throws MessagingException {
        List<Integer> numbers = new ArrayList<>();
        Map<Integer, Message> byNumber = new HashMap<>();
        for (Listed l : next) {
            if (l.size >= 0 && l.size <= IMAP_BATCH_FETCH_MAX) {
                numbers.add(l.message.getMessageNumber());
                byNumber.put(l.message.getMessageNumber(), l.message);
            }
        }
        if (numbers.size() < 2) {
            return;
        }
        MessageSet[] sets = MessageSet.createMessageSets(numbers.stream().mapToInt(Integer::intValue).toArray());
        imap.doCommand(p -> {
            Response[] r = p.fetch(sets, "BODY.PEEK[]");
            for (Response x : r) {
                if (x instanceof FetchResponse f && byNumber.containsKey(f.getNumber())) {
                    BODY body = f.getItem(BODY.class);
                    if (body != null && body.getByteArray() != null) {
                        fetched.put(byNumber.get(f.getNumber()), body.getByteArray());
                    }
                }
            }
            p.notifyResponseHandlers(r);
            p.handleResult(r[r.length - 1]);
            return null;
        });
    }

    /** Marks the messages deleted; returns whether the folder must be closed with expunge. */
    private boolean delete(Folder folder, List<Listed> delete) throws MessagingException {
        Message[] arr = new Message[delete.size()];
        for (int i = 0; i < arr.length; i++) {
            arr[i] = delete.get(i).message;
        }
        if (folder instanceof IMAPFolder imap) {
            // one STORE for all: a flag change per message makes servers rescan the mailbox each time
            imap.setFlags(arr, new Flags(Flags.Flag.DELETED), true);
            IMAPStore store = (IMAPStore) imap.getStore();
            if (store.hasCapability("UIDPLUS")) {
                // expunge only ours, not what another client marked \Deleted
                imap.expunge(arr);
                return false;
            }
            return true;
        }
        for (Message m : arr) {
            // POP3: a local mark; the DELE commands go out in close(true), right before QUIT
            m.setFlag(Flags.Flag.DELETED, true);
        }
        return true;
    }

    private Maildir maildir(String mailbox) throws IOException {
        Maildir m = maildirs.get(mailbox);
        if (m == null) {
            m = Maildir.open(mailboxes.resolve(mailbox));
            maildirs.put(mailbox, m);
        }
        return m;
    }

    Properties properties() {
        String p = "mail." + cfg.protocol.jakartaName();
        Properties props = new Properties();
        signIn.configure(props, cfg.protocol.jakartaName());
        String millis = String.valueOf(cfg.timeout.toMillis());
        props.setProperty(p + ".connectiontimeout", millis);
        props.setProperty(p + ".timeout", millis);
        props.put(p + ".socketFactory", LineBoundSocketFactories.plain(CollectorSettings.MAX_LINE));
        // never fall back to a socket without our checks
        props.setProperty(p + ".socketFactory.fallback", "false");
        if (cfg.tls != null) {
            props.put(p + ".ssl.socketFactory", LineBoundSocketFactories.tls(cfg.tls, CollectorSettings.MAX_LINE));
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
        return props;
    }

    /** A readable reason, never a password. */
    String describe(Throwable e) {
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
        if (e instanceof AuthenticationFailedException) {
            return "the server refused the login of user '" + cfg.username + "'"
                    + (e.getMessage() != null && !e.getMessage().isBlank() ? ": " + e.getMessage().trim() : "")
                    + " (keys 'username', 'password')";
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
