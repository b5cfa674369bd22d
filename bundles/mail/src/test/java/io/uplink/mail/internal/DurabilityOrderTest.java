package io.uplink.mail.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.mail.FetchProfile;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.UIDFolder;
import jakarta.mail.internet.MimeMessage;

import org.eclipse.angus.mail.pop3.POP3Folder;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.TestName;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.mail.internal.collect.CollectMain;
import io.uplink.mail.internal.outbox.FileOutbox;
import io.uplink.mail.internal.outbox.Pickup;
import io.uplink.mail.testing.Dovecot;

/**
 * The durability order itself, which a SIGKILL test cannot see (the page cache survives a killed process):
 * the collecting process runs in a child JVM under strace, and the recorded system calls must show, for
 * every message and each of its mailboxes, message file fsync → rename into {@code new/} → fsync of
 * {@code new/} (and of the new Maildir's folder and of {@code mailboxes/}) → the ledger's S line → ledger fsync,
 * all ended before the server is told to delete it. Three
 * deletion paths: POP3 in lock-step (GreenMail, routing by headers: DELE after DELE through Angus), POP3 with
 * PIPELINING (Dovecot: several DELEs per write, each message's checked against its own DELE) and IMAP with
 * UIDPLUS (Dovecot: one {@code UID STORE \Deleted} and one {@code UID EXPUNGE} of exactly the collected UIDs,
 * bodies fetched ahead in blocks by another thread). For the outbox pickup: the batch file that holds the
 * message was created, its folder forced, the file written and forced before the pickup file is removed.
 *
 * <p>strace (a Debian package; .ci/run installs it) must be there: without it this test fails, it does not
 * skip.
 */
public class DurabilityOrderTest {

    private static final int MESSAGES = 20;
    /** Messages in the Dovecot cases: enough for two ledger batches and two IMAP blocks. */
    private static final int SERVER_MESSAGES = 100;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();
    @Rule
    public TestName test = new TestName();

    private GreenMail greenMail;

    @After
    public void stop() {
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    public void pop3CollectorForcesFileThenRenameThenFolderThenLedgerBeforeAnyDele() throws Exception {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        greenMail.start();
        GreenMailUser user = greenMail.setUser("office@example.com", "office", "pw");
        for (int i = 0; i < MESSAGES; i++) {
            String m = "From: carol@example.net\r\nTo: alice@office.test\r\nCc: bob@office.test\r\nSubject: order " + i
                    + "\r\nMessage-ID: <order." + i + "@test>\r\n\r\n" + ("line " + i + "\r\n").repeat(40);
            user.deliver(new MimeMessage(Session.getInstance(new java.util.Properties()),
                    new ByteArrayInputStream(m.getBytes(StandardCharsets.US_ASCII))));
        }
        Path dir = tmp.getRoot().toPath().toRealPath();
        Trace t = strace(dir, CollectMain.class, dir.toString(), "connections=office", "protocol=pop3", "host=127.0.0.1",
                "port=" + greenMail.getPop3().getPort(), "security=none", "username=office", "password=pw",
                "route=headers", "domains=office.test");
        assertTrue(t.output, t.output.contains("REPORT collected=" + MESSAGES + " skipped=0 errors=[]"));
        assertEquals("the server is empty", 0, greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount());

        String ledger = dir.resolve("state/collector-child.uidl").toString();
        List<Call> deles = t.calls(c -> c.isSocketWrite() && c.text().contains("DELE "));
        assertEquals("one DELE per message", MESSAGES, deles.size());
        Call firstDele = deles.get(0);

        List<Intent> intents = intents(t, ledger);
        assertEquals(MESSAGES, intents.size());
        for (Intent p : intents) {
            assertEquals("routed to both", List.of("alice", "bob"), p.boxes());
            Call forced = durablyRecorded(t, dir, ledger, p);
            assertTrue("the ledger fsync after the S line of " + p.uid() + " ends before the first DELE:\n" + forced.line
                    + "\n" + firstDele.line, forced.end < firstDele.start);
        }
        // the run created the ledger file: its name in state/ is durable before the first DELE too
        String state = dir.resolve("state").toString();
        Call named = t.first(c -> c.isSync() && c.path().equals(state), 0, "fsync of " + state + " (the new ledger's name)");
        assertTrue("the new ledger's folder is forced before the first DELE:\n" + named.line + "\n" + firstDele.line,
                named.end < firstDele.start);
    }

    @Test
    public void pop3PipelinedSendsEachDeleOnlyAfterItsMessageIsDurableAndRecorded() throws Exception {
        Dovecot server = dovecot();
        fill(server, "pat");
        Map<Integer, String> uidOf = uidls(server, "pat");
        assertEquals(SERVER_MESSAGES, uidOf.size());
        Path dir = tmp.getRoot().toPath().toRealPath();
        Trace t = collectAll(server, "pop3", server.pop3Port(), "pat", dir);

        // the pipelined path, not the lock-step one: several RETRs, and several DELEs, in one write
        List<Call> writes = t.calls(Call::isSocketWrite);
        assertTrue("RETRs were pipelined", writes.stream().anyMatch(c -> count(RETR, c.text()) > 1));
        assertTrue("DELEs were pipelined", writes.stream().anyMatch(c -> count(DELE, c.text()) > 1));
        // each message number's DELE, and the write that carried it
        Map<Integer, Call> deleOf = new HashMap<>();
        for (Call w : writes) {
            Matcher m = DELE.matcher(w.text());
            while (m.find()) {
                assertEquals("one DELE for message " + m.group(1), null, deleOf.put(Integer.valueOf(m.group(1)), w));
            }
        }
        assertEquals("a DELE for every message", uidOf.keySet(), deleOf.keySet());

        String ledger = dir.resolve("state/collector-child.uidl").toString();
        List<Intent> intents = intents(t, ledger);
        assertEquals(SERVER_MESSAGES, intents.size());
        assertTrue("recorded in more than one batch", storedRecords(t, ledger) > 1);
        Map<String, Integer> numberOf = new HashMap<>();
        uidOf.forEach((n, uid) -> numberOf.put(uid, n));
        for (Intent p : intents) {
            Integer n = numberOf.get(p.uid());
            assertTrue("message " + p.uid() + " is in the server's UIDL list " + uidOf, n != null);
            Call dele = deleOf.get(n);
            Call forced = durablyRecorded(t, dir, ledger, p);
            assertTrue("the ledger fsync after the S line of " + p.uid() + " ends before its DELE " + n + " goes out:\n"
                    + forced.line + "\n" + dele.line, forced.end < dele.start);
        }
    }

    @Test
    public void imapMarksAndExpungesOnlyAfterEveryMessageIsDurableAndRecorded() throws Exception {
        Dovecot server = dovecot();
        fill(server, "ivy");
        Path dir = tmp.getRoot().toPath().toRealPath();
        Trace t = collectAll(server, "imap", server.imapPort(), "ivy", dir);

        Call store = t.first(c -> c.isSocketWrite() && c.text().contains(" UID STORE ") && c.text().contains("Deleted"), 0,
                "UID STORE of \\Deleted");
        Call expunge = t.first(c -> c.isSocketWrite() && c.text().contains(" UID EXPUNGE "), 0, "UID EXPUNGE");
        assertEquals("one UID STORE for all", 1, t.calls(c -> c.isSocketWrite() && c.text().contains(" UID STORE ")).size());
        SortedSet<Long> marked = uidSet(UID_STORE, store);
        assertEquals("the UID EXPUNGE names exactly the messages marked", marked, uidSet(UID_EXPUNGE, expunge));

        // the fetch ahead ran: blocks of several messages in one FETCH, the next one on a thread of its own
        List<Call> fetches = t.calls(c -> c.isSocketWrite() && c.text().contains(" FETCH ") && c.text().contains("BODY.PEEK[]"));
        String shown = fetches.stream().map(Call::line).collect(java.util.stream.Collectors.joining("\n"));
        assertTrue("several messages in one FETCH:\n" + shown, fetches.stream().anyMatch(c -> BLOCK.matcher(c.text()).find()));
        assertTrue("a block fetched ahead on another thread than the one that deletes (" + store.pid() + "):\n" + shown,
                fetches.stream().anyMatch(c -> c.pid() != store.pid()));

        String ledger = dir.resolve("state/collector-child.uidl").toString();
        List<Intent> intents = intents(t, ledger);
        assertEquals(SERVER_MESSAGES, intents.size());
        assertTrue("recorded in more than one batch", storedRecords(t, ledger) > 1);
        SortedSet<Long> collected = new TreeSet<>();
        for (Intent p : intents) {
            // UIDVALIDITY/UID
            collected.add(Long.valueOf(p.uid().substring(p.uid().indexOf('/') + 1)));
            Call forced = durablyRecorded(t, dir, ledger, p);
            assertTrue("the ledger fsync after the S line of " + p.uid() + " ends before the UID STORE \\Deleted:\n"
                    + forced.line + "\n" + store.line, forced.end < store.start);
            assertTrue("the ledger fsync after the S line of " + p.uid() + " ends before the UID EXPUNGE:\n" + forced.line
                    + "\n" + expunge.line, forced.end < expunge.start);
        }
        assertEquals("the UID STORE marks exactly the messages collected", collected, marked);
    }

    @Test
    public void pickupForcesTheBatchHoldingTheFileAndItsNameBeforeRemovingThePickupFile() throws Exception {
        Path dir = tmp.getRoot().toPath().toRealPath();
        Path pickup = dir.resolve("pickup");
        Files.createDirectories(pickup);
        for (int i = 0; i < 3; i++) {
            Files.writeString(pickup.resolve("m" + i + ".eml"), "From: a@example.org\r\nTo: b@example.net\r\nSubject: pickup "
                    + i + "\r\n\r\nhello\r\n");
        }
        Trace t = strace(dir, PickupChild.class, dir.toString());
        assertTrue(t.output, t.output.contains("QUEUED 3"));
        Path intake = dir.resolve("outbox/intake");
        List<Call> removals = t.calls(c -> c.isUnlink() && c.path().startsWith(pickup + "/"));
        assertEquals("each pickup file removed once", 3, removals.size());
        for (Call unlink : removals) {
            String file = unlink.path();
            String subject = "Subject: pickup " + file.charAt(file.length() - 5);
            // the batch file that holds this message (it stays while the message waits in the queue)
            Path batch = null;
            try (java.util.stream.Stream<Path> s = Files.list(intake)) {
                for (Path b : s.filter(b -> b.toString().endsWith(".batch")).toList()) {
                    if (new String(Files.readAllBytes(b), StandardCharsets.ISO_8859_1).contains(subject)) {
                        batch = b;
                    }
                }
            }
            assertTrue("a batch file in " + intake + " holds " + file, batch != null);
            String held = batch.toString();
            Call created = t.first(c -> c.name().startsWith("open") && c.path().equals(held) && c.args().contains("O_CREAT"), -1,
                    "creation of " + held);
            Call named = t.first(c -> c.isSync() && c.path().equals(intake.toString()), created.end,
                    "fsync of " + intake + " after " + held + " was created");
            List<Call> writes = t.calls(c -> c.isWrite() && c.path().equals(held));
            assertTrue("the batch was written", !writes.isEmpty());
            Call lastWrite = writes.get(writes.size() - 1);
            Call forced = t.first(c -> c.isSync() && c.path().equals(held), lastWrite.end, "fsync of " + held + " after its write");
            assertTrue("the batch file's name is durable before " + file + " is removed:\n" + named.line + "\n" + unlink.line,
                    named.end < unlink.start);
            assertTrue("the batch file holding it is forced before " + file + " is removed:\n" + forced.line + "\n"
                    + unlink.line, forced.end < unlink.start);
        }
    }

    /** The child of the pickup case: queues what is in {@code <dir>/pickup} into {@code <dir>/outbox}. */
    public static final class PickupChild {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            FileOutbox outbox = new FileOutbox(dir.resolve("outbox"), dir.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                    FileOutbox.Retry.DEFAULT);
            Pickup pickup = new Pickup(dir.resolve("pickup"), outbox);
            pickup.scan(); // a file is taken once it did not change since the previous look
            System.out.println("QUEUED " + pickup.scan());
        }
    }

    // ------------------------------------------------------------------ the chain of one message

    /** A message the ledger's P record announced: its UID, its Maildir file name and its mailboxes. */
    record Intent(String uid, String unique, List<String> boxes) {
    }

    /** {@code P uid size unique mailbox[,mailbox]}, as a ledger write shows it (strace writes a newline as \n). */
    private static final Pattern P_LINE = Pattern.compile("(?:^|\\\\n)P ([^ ]+) \\d+ ([^ ]+) ([^ \\\\]+)\\\\n");

    /** Every P record written to {@code ledger}, in order (a write may hold other records too). */
    static List<Intent> intents(Trace t, String ledger) {
        List<Intent> out = new ArrayList<>();
        for (Call w : t.calls(c -> c.isWrite() && c.path().equals(ledger))) {
            Matcher m = P_LINE.matcher(w.text());
            while (m.find()) {
                out.add(new Intent(m.group(1), m.group(2), List.of(m.group(3).split(","))));
            }
        }
        return out;
    }

    /** How many writes to {@code ledger} hold S records (a batch of messages is recorded in one). */
    static long storedRecords(Trace t, String ledger) {
        return t.calls(c -> c.isWrite() && c.path().equals(ledger)
                && (c.text().startsWith("S ") || c.text().contains("\\nS "))).size();
    }

    /**
     * Checks the chain of one message: in each of its mailboxes its file forced in {@code tmp/}, then renamed into
     * {@code new/}, then {@code new/} forced; only then its S line; then the ledger forced. Returns that ledger
     * fsync: the server may be told to delete the message only after it ended.
     */
    static Call durablyRecorded(Trace t, Path dir, String ledger, Intent p) {
        int durableInAll = -1;
        for (String box : p.boxes()) {
            String temp = dir.resolve("mailboxes/" + box + "/tmp/" + p.unique()).toString();
            String fresh = dir.resolve("mailboxes/" + box + "/new").toString();
            Call fsync = t.first(c -> c.isSync() && c.path().equals(temp), 0, "fsync of " + temp);
            Call rename = t.first(c -> c.isRename() && c.renameFrom().equals(temp)
                    && c.renameTo().startsWith(fresh + "/" + p.unique()), 0, "rename of " + temp + " into new/");
            assertTrue("file forced before its rename: " + fsync.line + " / " + rename.line, fsync.end < rename.start);
            Call dirSync = t.first(c -> c.isSync() && c.path().equals(fresh), rename.end, "fsync of " + fresh
                    + " after " + rename.line);
            durableInAll = Math.max(durableInAll, dirSync.end);
        }
        int durable = durableInAll;
        // a batch's S lines are one write, and an S record may follow a T record (the time of the S records after
        // it) in the same write: this uid's line may be any of them
        String uid = p.uid();
        Call stored = t.first(c -> c.isWrite() && c.path().equals(ledger) && (c.text().startsWith("S " + uid + " ")
                || c.text().contains("\\nS " + uid + " ")), 0, "the S line of " + uid);
        assertTrue("S line of " + uid + " only after its file is durable in every mailbox", stored.start > durable);
        // the run created the Maildirs: their folders' entries, and each Maildir's own in mailboxes/, are forced
        // (on another thread, while messages come in) before any S line
        for (String box : p.boxes()) {
            for (Path folder : List.of(dir.resolve("mailboxes/" + box), dir.resolve("mailboxes"))) {
                String d = folder.toString();
                Call made = t.first(c -> c.isSync() && c.path().equals(d), 0, "fsync of the new folder " + d);
                assertTrue("the new Maildir " + d + " is durable before the S line of " + uid + ":\n" + made.line
                        + "\n" + stored.line, made.end < stored.start);
            }
        }
        return t.first(c -> c.isSync() && c.path().equals(ledger), stored.end, "ledger fsync after the S line of " + uid);
    }

    // ------------------------------------------------------------------ the protocols as the socket writes show them

    private static final Pattern RETR = Pattern.compile("RETR (\\d+)\\\\r\\\\n");
    private static final Pattern DELE = Pattern.compile("DELE (\\d+)\\\\r\\\\n");
    private static final Pattern UID_STORE = Pattern.compile(" UID STORE ([0-9:,]+) ");
    private static final Pattern UID_EXPUNGE = Pattern.compile(" UID EXPUNGE ([0-9:,]+)\\\\r\\\\n");
    /** A FETCH of a range or a list of messages. */
    private static final Pattern BLOCK = Pattern.compile(" FETCH \\d+[:,]\\d+");

    private static int count(Pattern p, String text) {
        Matcher m = p.matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** The UIDs of the IMAP set ({@code 3,5:9}) that {@code command} names in {@code write}. */
    private static SortedSet<Long> uidSet(Pattern command, Call write) {
        Matcher m = command.matcher(write.text());
        assertTrue("a UID set in " + write.line, m.find());
        SortedSet<Long> out = new TreeSet<>();
        for (String part : m.group(1).split(",")) {
            int colon = part.indexOf(':');
            long from = Long.parseLong(colon < 0 ? part : part.substring(0, colon));
            long to = colon < 0 ? from : Long.parseLong(part.substring(colon + 1));
            for (long u = Math.min(from, to); u <= Math.max(from, to); u++) {
                out.add(u);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ Dovecot

    /** Started by the first test that needs it, for every test of the class; each test has its own user. */
    private static Dovecot dovecot;
    @ClassRule
    public static TemporaryFolder serverTmp = new TemporaryFolder();

    private static synchronized Dovecot dovecot() throws IOException {
        if (dovecot == null) {
            Path root = serverTmp.getRoot().toPath();
            dovecot = Dovecot.start(root.resolve("dovecot"), root.resolve("server-mail"));
        }
        return dovecot;
    }

    @AfterClass
    public static void stopDovecot() {
        if (dovecot != null) {
            dovecot.close();
            dovecot = null;
        }
    }

    /**
     * Gives {@code user} {@link #SERVER_MESSAGES} messages of about 32 KiB: more than one of the collector's batches
     * (64 messages a ledger record), and more than one IMAP block fetched at once (2 MiB), so the fetch ahead runs.
     */
    private static void fill(Dovecot server, String user) throws IOException {
        server.user(user);
        Path box = server.mail().resolve(user);
        for (String sub : new String[] {"cur", "tmp", "new"}) {
            Files.createDirectories(box.resolve(sub));
        }
        for (int i = 0; i < SERVER_MESSAGES; i++) {
            String m = "From: carol@example.net\r\nTo: alice@office.test\r\nSubject: trace " + i + "\r\nMessage-ID: <trace." + i
                    + "@test>\r\n\r\n" + ("line " + i + " " + "x".repeat(70) + "\r\n").repeat(400);
            Files.writeString(box.resolve("new/" + (1700000000 + i) + ".M" + i + "P1.test"), m, StandardCharsets.US_ASCII);
        }
        server.own(box);
    }

    /** The server's POP3 message numbers and their UIDL, as the collector's session will see them. */
    private static Map<Integer, String> uidls(Dovecot server, String user) throws Exception {
        Store store = Session.getInstance(new Properties()).getStore("pop3");
        store.connect("127.0.0.1", server.pop3Port(), user, Dovecot.PASSWORD);
        try {
            POP3Folder inbox = (POP3Folder) store.getFolder("INBOX");
            inbox.open(Folder.READ_ONLY);
            Message[] all = inbox.getMessages();
            FetchProfile fp = new FetchProfile();
            fp.add(UIDFolder.FetchProfileItem.UID);
            inbox.fetch(all, fp);
            Map<Integer, String> out = new TreeMap<>();
            for (Message m : all) {
                out.put(m.getMessageNumber(), inbox.getUID(m));
            }
            inbox.close(false);
            return out;
        } finally {
            store.close();
        }
    }

    /**
     * Collects {@code user}'s messages into mailbox alice ({@code deliverTo}: storing asks the server nothing, so
     * the collector may pipeline and fetch ahead) in a child JVM under strace; every message collected and deleted.
     */
    private Trace collectAll(Dovecot server, String protocol, int port, String user, Path dir) throws Exception {
        Trace t = strace(dir, CollectMain.class, dir.toString(), "connections=office", "protocol=" + protocol,
                "host=127.0.0.1", "port=" + port, "security=none", "username=" + user, "password=" + Dovecot.PASSWORD,
                "deliverTo=alice");
        assertTrue(t.output + server.log(), t.output.contains("REPORT collected=" + SERVER_MESSAGES + " skipped=0 errors=[]"));
        assertEquals("the server is empty", 0, onServer(server, user));
        return t;
    }

    /** How many messages the server still holds for {@code user}. */
    private static long onServer(Dovecot server, String user) throws IOException {
        long n = 0;
        for (String sub : new String[] {"new", "cur"}) {
            try (java.util.stream.Stream<Path> left = Files.list(server.mail().resolve(user).resolve(sub))) {
                n += left.filter(Files::isRegularFile).count();
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ strace

    /**
     * One system call: the lines where it started and ended, and their text (a call another thread interrupted
     * spans two lines).
     */
    record Call(int pid, String name, String args, long result, int start, int end, String line) {
        private static final Pattern FD = Pattern.compile("^\\d+<(.*?)>(?:, |$)");

        boolean isSync() {
            return name.equals("fsync") || name.equals("fdatasync");
        }

        boolean isRename() {
            return name.startsWith("rename");
        }

        boolean isUnlink() {
            return name.startsWith("unlink");
        }

        boolean isWrite() {
            return name.equals("write") || name.equals("pwrite64");
        }

        boolean isSocketWrite() {
            return (isWrite() || name.equals("sendto") || name.equals("sendmsg")) && path().startsWith("TCP");
        }

        /** The path (or socket) of the first argument's file descriptor, or the first quoted path. */
        String path() {
            Matcher m = FD.matcher(args);
            if (m.find()) {
                return m.group(1);
            }
            List<String> q = quoted();
            return q.isEmpty() ? "" : q.get(0);
        }

        /** The data of a write: its first quoted string, with strace's escapes as they are. */
        String text() {
            List<String> q = quoted();
            return q.isEmpty() ? "" : q.get(0);
        }

        String renameFrom() {
            return quoted().get(0);
        }

        String renameTo() {
            return quoted().get(1);
        }

        /** The quoted strings among the arguments, escapes as they are (scanned: a regex recurses per escape). */
        private List<String> quoted() {
            List<String> out = new ArrayList<>();
            int open = -1;
            for (int i = 0; i < args.length(); i++) {
                char c = args.charAt(i);
                if (open < 0) {
                    if (c == '"') {
                        open = i + 1;
                    }
                } else if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    out.add(args.substring(open, i));
                    open = -1;
                }
            }
            return out;
        }
    }

    /** What strace recorded, in the order the calls happened, and what the child printed. */
    static final class Trace {
        final List<Call> calls;
        final String output;

        Trace(List<Call> calls, String output) {
            this.calls = calls;
            this.output = output;
        }

        List<Call> calls(Predicate<Call> p) {
            return calls.stream().filter(p).sorted((a, b) -> Integer.compare(a.start, b.start)).toList();
        }

        /** The first successful call matching {@code p} that starts after line {@code after}. */
        Call first(Predicate<Call> p, int after, String what) {
            for (Call c : calls(p)) {
                if (c.start > after) {
                    return c;
                }
            }
            fail("no " + what + " in the trace (" + calls.size() + " calls recorded)");
            return null;
        }
    }

    private static final Pattern ENTRY = Pattern.compile("^(\\d+)\\s+(\\w+)\\((.*)$");
    private static final Pattern RESUMED = Pattern.compile("^(\\d+)\\s+<\\.\\.\\. (\\w+) resumed>(.*)$");
    /**
     * The result at the end: {@code ) = 0}, padded with spaces on short lines, perhaps followed by an error
     * name; a new file descriptor is followed by its path ({@code -yy}); no quote may follow, so a {@code ) = }
     * inside written data is not taken for it.
     */
    private static final Pattern RESULT = Pattern.compile("\\)\\s+=\\s+(-?\\d+)(?:<[^>\"]*>)?(?:\\s[^\"]*)?$");
    private static final String UNFINISHED = " <unfinished ...>";

    /** Runs {@code main} of {@code mainClass} in a child JVM under strace and reads the trace. */
    Trace strace(Path dir, Class<?> mainClass, String... args) throws Exception {
        Path strace = Path.of("/usr/bin/strace");
        if (!Files.isExecutable(strace)) {
            fail("strace is needed to record the durability order and is not installed (Debian package 'strace'; "
                    + ".ci/run installs it)");
        }
        Path out = dir.resolve("strace.txt");
        Path log = dir.resolve("child.log");
        List<String> cmd = new ArrayList<>(List.of(strace.toString(), "-f", "-qq", "-yy", "-s", "8192", "-o", out.toString(),
                "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,write,pwrite64,sendto,sendmsg,openat"));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx128m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the traced child did not end within 180 s\n" + Files.readString(log));
        }
        String output = Files.readString(log);
        // kept for a person reading a failure: target/DurabilityOrderTest-<test>.strace
        Path target = Path.of("target");
        if (Files.isDirectory(target)) {
            Files.copy(out, target.resolve(getClass().getSimpleName() + "-" + test.getMethodName() + ".strace"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        assertEquals("strace and the child ended normally:\n" + output, 0, p.exitValue());
        return new Trace(parse(Files.readAllLines(out, StandardCharsets.UTF_8)), output);
    }

    /**
     * Reads strace's {@code -f} output: each line starts with the thread id; a call that another thread's call
     * interrupts is printed as {@code name(args <unfinished ...>} and later {@code <... name resumed>rest}.
     * Only calls that succeeded are kept.
     */
    static List<Call> parse(List<String> lines) throws IOException {
        List<Call> calls = new ArrayList<>();
        Map<Integer, Object[]> open = new HashMap<>(); // pid -> {name, args so far, start, first line}
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher r = RESUMED.matcher(line);
            if (r.matches()) {
                int pid = Integer.parseInt(r.group(1));
                Object[] o = open.remove(pid);
                if (o != null && o[0].equals(r.group(2))) {
                    add(calls, pid, (String) o[0], o[1] + r.group(3), (Integer) o[2], i, o[3] + "\n" + line);
                }
                continue;
            }
            Matcher e = ENTRY.matcher(line);
            if (!e.matches()) {
                continue; // signals, exits
            }
            int pid = Integer.parseInt(e.group(1));
            String rest = e.group(3);
            if (rest.endsWith(UNFINISHED)) {
                open.put(pid, new Object[] {e.group(2), rest.substring(0, rest.length() - UNFINISHED.length()), i, line});
            } else {
                add(calls, pid, e.group(2), rest, i, i, line);
            }
        }
        return calls;
    }

    private static void add(List<Call> calls, int pid, String name, String argsAndResult, int start, int end, String line) {
        Matcher m = RESULT.matcher(argsAndResult);
        if (!m.find()) {
            return; // the process ended inside the call
        }
        long result = Long.parseLong(m.group(1));
        if (result >= 0) {
            calls.add(new Call(pid, name, argsAndResult.substring(0, m.start()), result, start, end, line));
        }
    }
}
