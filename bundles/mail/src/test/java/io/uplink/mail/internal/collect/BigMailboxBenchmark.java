package io.uplink.mail.internal.collect;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.uplink.api.mail.CollectReport;
import io.uplink.mail.internal.DeliveredNames;
import io.uplink.mail.internal.ledger.UidLedger;

/**
 * The big-mailbox benchmark (run by {@code bench/big-mailbox-benchmark.sh}, not a test): a Dovecot mailbox of
 * N messages left on the server ({@code leaveOnServer.days = 30}) that the ledger already knows, then 10 new
 * ones delivered through Dovecot's LDA; one timed firing each for IMAP and POP3, each on 10 messages of its own,
 * and raw clients doing the firing's commands on 10 others. Each IMAP session timed (raw with SELECT, raw with
 * EXAMINE, Uplink's firing) comes right after an untimed one of its own kind, on 10 messages more: it meets the
 * state its own previous firing leaves (a Maildir session leaves the next one its sync). The ledger is generated
 * from the server's own listing (UIDL, or UIDVALIDITY and UID FETCH 1:*) through {@link UidLedger}, as the first
 * firing would have left it after its compaction, so that 100,000 messages need not be collected first.
 * Arguments: run directory, POP3 port, IMAP port, mail uid, mail gid, sizes (comma-separated), Dovecot's LDA, and
 * optionally the mail store Dovecot is configured with (maildir, the default; mdbox or sdbox: the Maildir filled
 * here is then copied into it with {@code doveadm import}).
 */
public final class BigMailboxBenchmark {

    private static final int NEW = 10;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final Path dir;
    private final int pop3;
    private final int imap;
    private final String owner;
    private final String lda;
    private int delivered;

    private BigMailboxBenchmark(Path dir, int pop3, int imap, String owner, String lda) {
        this.dir = dir;
        this.pop3 = pop3;
        this.imap = imap;
        this.owner = owner;
        this.lda = lda;
    }

    /** One timed firing and the ledger it ran on. */
    private record Figures(double seconds, long allocated, int collected, long ledgerBytes, double loadMillis,
            long loadAllocated, double rawMillis, double idleMillis) {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        BigMailboxBenchmark b = new BigMailboxBenchmark(dir, Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                args[3] + ":" + args[4], args[6]);
        String store = args.length > 7 ? args[7] : "maildir";
        List<Integer> sizes = new ArrayList<>();
        for (String s : args[5].split(",")) {
            sizes.add(Integer.parseInt(s.trim()));
        }
        String loadBefore = loadAverage();
        long t0 = System.nanoTime();
        b.fill("warm", 0, 5000);
        for (int n : sizes) {
            b.fill("box" + n, 0, n);
        }
        b.chown();
        System.out.printf(Locale.ROOT, "filled %d mailboxes in %.1f s%n", sizes.size() + 1, (System.nanoTime() - t0) / 1e9);
        if (!store.equals("maildir")) {
            t0 = System.nanoTime();
            b.importInto("warm");
            for (int n : sizes) {
                b.importInto("box" + n);
            }
            System.out.printf(Locale.ROOT, "imported them into %s in %.1f s%n", store, (System.nanoTime() - t0) / 1e9);
        }
        // warm the JIT and Dovecot's index on a small mailbox, twice
        for (int round = 0; round < 2; round++) {
            for (String protocol : new String[] {"imap", "pop3"}) {
                b.prefill("warm");
                b.deliver("warm", NEW);
                b.fire(protocol, "warm");
            }
        }
        List<String> lines = new ArrayList<>();
        for (int n : sizes) {
            String user = "box" + n;
            long p = System.nanoTime();
            b.prefill(user);
            System.out.printf(Locale.ROOT, "%s: Dovecot indexed it and the ledgers were generated in %.1f s%n", user,
                    (System.nanoTime() - p) / 1e9);
            // IMAP, each timed session after an untimed one of its own kind (the state its previous firing leaves):
            // a raw "previous firing" with SELECT moves 10 delivered messages into cur/, as every SELECT firing that
            // finds new mail does; then the raw client does the firing's own commands on 10 more
            long known = n;
            b.deliver(user, NEW);
            b.imapFiring(user, known, "SELECT");
            known += NEW;
            b.deliver(user, NEW);
            long x = System.nanoTime();
            int rawFetched = b.imapFiring(user, known, "SELECT");
            double rawFiring = (System.nanoTime() - x) / 1e6;
            known += NEW;
            if (rawFetched != NEW) {
                throw new IllegalStateException("raw IMAP client on " + user + ": fetched " + rawFetched + ", not " + NEW);
            }
            // the same raw client with EXAMINE instead of SELECT (read-only: the files stay in new/), after an
            // untimed EXAMINE session (which pays for the SELECT's changes to cur/)
            b.deliver(user, NEW);
            b.imapFiring(user, known, "EXAMINE");
            known += NEW;
            b.deliver(user, NEW);
            x = System.nanoTime();
            rawFetched = b.imapFiring(user, known, "EXAMINE");
            double rawExamine = (System.nanoTime() - x) / 1e6;
            known += NEW;
            if (rawFetched != NEW) {
                throw new IllegalStateException("raw IMAP client (EXAMINE) on " + user + ": fetched " + rawFetched);
            }
            // Uplink: an untimed firing first (it leaves what its own commands leave), then the timed one
            b.markImap(user, known);
            b.deliver(user, NEW);
            int previous = b.fireOnce("imap", user);
            if (previous != NEW) {
                throw new IllegalStateException("previous IMAP firing on " + user + ": collected " + previous);
            }
            b.deliver(user, NEW);
            lines.add(b.line("imap", n, b.fire("imap", user))
                    + String.format(Locale.ROOT, " | raw client, the firing's commands on %d new: SELECT %5.0f ms,"
                            + " EXAMINE %5.0f ms", NEW, rawFiring, rawExamine));
            // POP3 likewise: the ledgers learn what IMAP was given; the raw client takes 10 delivered messages, the
            // ledger learns them, and the firing takes 10 more
            b.prefill(user);
            b.deliver(user, NEW);
            x = System.nanoTime();
            List<String[]> taken = b.pop3Firing(user, n + 6 * NEW);
            rawFiring = (System.nanoTime() - x) / 1e6;
            if (taken.size() != NEW) {
                throw new IllegalStateException("raw POP3 client on " + user + ": took " + taken.size() + ", not " + NEW);
            }
            b.learnPop3(user, taken);
            b.deliver(user, NEW);
            lines.add(b.line("pop3", n, b.fire("pop3", user))
                    + String.format(Locale.ROOT, " | raw client, the firing's commands on %d new: %5.0f ms", NEW, rawFiring));
        }
        String loadAfter = loadAverage();
        System.out.println();
        System.out.println("big mailbox benchmark: leaveOnServer.days = 30, N known messages on the server, " + NEW
                + " new; Dovecot on loopback, mail store " + store);
        lines.forEach(System.out::println);
        System.out.println("targets: firing <= 3 s (POP3), <= 1 s (IMAP) at 100k; a few MiB allocated per 100k entries");
        System.out.println("load average (1/5/15 min): before " + loadBefore + "  ->  after " + loadAfter);
    }

    private String line(String protocol, int n, Figures f) {
        return String.format(Locale.ROOT,
                "%-4s %7d kept | firing %5.0f ms | nothing new %5.0f ms | raw listing %5.0f ms | allocated %5.1f MiB"
                        + " (%5.2f per 100k) | ledger %5.2f MiB on disk, load %3.0f ms, %4.1f MiB",
                protocol.toUpperCase(Locale.ROOT), n, f.seconds * 1000, f.idleMillis, f.rawMillis, f.allocated / 1048576.0,
                f.allocated / 1048576.0 * 100_000 / n, f.ledgerBytes / 1048576.0, f.loadMillis, f.loadAllocated / 1048576.0);
    }

    /**
     * Delivers {@code n} new messages through Dovecot's own LDA, as a running server receives mail: each lands in
     * {@code new/} and in Dovecot's index at once. Then waits until Dovecot would no longer treat the folder as
     * just changed (it rescans a directory whose time stamp is within its last second, MAILDIR_SYNC_SECS = 1): a
     * firing comes minutes after the mail, not within the second.
     */
    private void deliver(String user, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            int k = delivered++;
            String m = "From: sender@example.net\r\nTo: " + user + "@example.net\r\nSubject: delivered " + k
                    + "\r\nMessage-ID: <d" + k + "." + user + "@bench>\r\n\r\n" + "The quick brown fox.\r\n".repeat(80);
            Process p = new ProcessBuilder(lda, "-c", dir.resolve("dovecot.conf").toString(), "-d", user, "-f",
                    "sender@example.net").redirectErrorStream(true).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(m.getBytes(StandardCharsets.US_ASCII));
            }
            String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.waitFor() != 0) {
                throw new IOException("dovecot-lda for " + user + " failed: " + said);
            }
        }
        long settled = System.currentTimeMillis() / 1000 * 1000 + 2000;
        for (long now = System.currentTimeMillis(); now < settled; now = System.currentTimeMillis()) {
            Thread.sleep(settled - now);
        }
    }

    /** The IMAP ledger's mark, as a firing that collected everything up to {@code uid} leaves it. */
    private void markImap(String user, long uid) throws IOException {
        try (UidLedger l = UidLedger.open(ledger("imap", user), Instant.now(), x -> false)) {
            l.handledUpTo(uid);
        }
    }

    private static String loadAverage() throws IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return f[0] + " " + f[1] + " " + f[2];
    }

    /** The collector of {@code user} for {@code protocol}: one firing each time it is asked. */
    private Collection collection(String protocol, String user) {
        Path out = dir.resolve("out").resolve(protocol).resolve(user);
        return Fixture.collection(Fixture.settings(user, "connections", "bench", "protocol", protocol, "host", "127.0.0.1",
                "port", String.valueOf(protocol.equals("pop3") ? pop3 : imap), "security", "none", "username", user,
                "password", "bench", "deliverTo", "bench", "leaveOnServer.days", "30"), out, Clock.systemUTC());
    }

    /** One firing, untimed: how many messages it collected. */
    private int fireOnce(String protocol, String user) throws Exception {
        CollectReport r = collection(protocol, user).run(new Fixture.Context());
        if (!r.errors().isEmpty()) {
            throw new IllegalStateException(protocol + " " + user + ": " + r.errors());
        }
        return r.collected();
    }

    /** One firing, timed, with the bytes this thread allocated; then the ledger's size and load time. */
    private Figures fire(String protocol, String user) throws Exception {
        java.util.function.Supplier<Collection> firing = () -> collection(protocol, user);
        Collection c = firing.get();
        long a = THREADS.getCurrentThreadAllocatedBytes();
        long t = System.nanoTime();
        CollectReport r = c.run(new Fixture.Context());
        double seconds = (System.nanoTime() - t) / 1e9;
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - a;
        if (!r.errors().isEmpty()) {
            throw new IllegalStateException(protocol + " " + user + ": " + r.errors());
        }
        Path ledger = ledger(protocol, user);
        long bytes = Files.size(ledger);
        a = THREADS.getCurrentThreadAllocatedBytes();
        t = System.nanoTime();
        try (UidLedger l = UidLedger.open(ledger, Instant.now(), p -> false)) {
            l.size();
        }
        double loadMillis = (System.nanoTime() - t) / 1e6;
        long loadAllocated = THREADS.getCurrentThreadAllocatedBytes() - a;
        // a firing that finds nothing new: the listing without the 10 messages' transfer and fsyncs
        t = System.nanoTime();
        CollectReport idle = firing.get().run(new Fixture.Context());
        double idleMillis = (System.nanoTime() - t) / 1e6;
        if (idle.collected() != 0 || !idle.errors().isEmpty()) {
            throw new IllegalStateException(protocol + " " + user + " again: " + idle);
        }
        // the same listing by a raw client that writes nothing: what the server takes
        t = System.nanoTime();
        if (protocol.equals("pop3")) {
            uidl(user);
        } else {
            imapAbove(user);
        }
        double rawMillis = (System.nanoTime() - t) / 1e6;
        return new Figures(seconds, allocated, r.collected(), bytes, loadMillis, loadAllocated, rawMillis, idleMillis);
    }

    private Path ledger(String protocol, String user) {
        return dir.resolve("out").resolve(protocol).resolve(user).resolve("state/collector-" + user + ".uidl");
    }

    private void forget(String user) throws IOException {
        for (String protocol : new String[] {"pop3", "imap"}) {
            Files.deleteIfExists(ledger(protocol, user));
        }
    }

    /**
     * Writes the ledgers a first firing would leave: every message on the server stored a day ago. The lists
     * come from the server itself (so Dovecot has indexed the mailbox before anything is timed).
     */
    private void prefill(String user) throws IOException {
        // written afresh: adding every entry again to a ledger would double its journal and make the next
        // firing compact it
        forget(user);
        Instant yesterday = Instant.now().minus(Duration.ofDays(1));
        Path p = ledger("pop3", user);
        Files.createDirectories(p.getParent());
        List<String[]> pop = uidl(user);
        try (UidLedger l = UidLedger.open(p, yesterday, x -> false)) {
            for (String[] m : pop) {
                l.stored(m[0], Long.parseLong(m[1]), yesterday);
            }
            l.refresh(pop.stream().map(m -> m[0]).toList(), yesterday, Duration.ofDays(30));
        }
        Path q = ledger("imap", user);
        Files.createDirectories(q.getParent());
        long[] validity = new long[1];
        List<long[]> uids = imapUids(user, validity);
        try (UidLedger l = UidLedger.open(q, yesterday, x -> false)) {
            l.validity(validity[0]);
            long max = 0;
            for (long[] m : uids) {
                l.stored(validity[0] + "/" + m[0], m[1], yesterday);
                max = Math.max(max, m[0]);
            }
            l.handledUpTo(max);
        }
    }

    /**
     * Writes {@code n} messages of about 2 KiB straight into the Maildir's {@code cur/}, as Dovecot names them (size
     * in the name): the mail kept on the server, quick to set up; the prefill's listing then indexes it.
     */
    private void fill(String user, int from, int n) throws IOException {
        Path maildir = dir.resolve("home").resolve(user).resolve("Maildir");
        StringBuilder body = new StringBuilder();
        int lines = 0;
        while (body.length() < 2048 - 300) {
            body.append("The quick brown fox jumps over the lazy dog, again and again and again.\n");
            lines++;
        }
        DeliveredNames names = new DeliveredNames(user.hashCode());
        for (int i = from; i < from + n; i++) {
            String m = "From: sender@example.net\nTo: " + user + "@example.net\nSubject: big mailbox " + i
                    + "\nMessage-ID: <" + i + "." + user + "@bench>\n\n" + body;
            byte[] bytes = m.getBytes(StandardCharsets.US_ASCII);
            long newlines = lines + 5;
            // S= and W= (the size with CRLF) spare Dovecot from reading each file to answer LIST
            Files.write(maildir.resolve("cur/" + names.next(i, bytes.length, bytes.length + newlines) + ":2,"), bytes);
        }
    }

    /**
     * Copies the Maildir just filled into the mail store Dovecot is configured with ({@code mail_location}, a dbox
     * form), through Dovecot's own {@code doveadm import}: the kept mail, in that store.
     */
    private void importInto(String user) throws Exception {
        Process p = new ProcessBuilder("doveadm", "-c", dir.resolve("dovecot.conf").toString(), "import", "-u", user,
                "maildir:" + dir.resolve("home").resolve(user).resolve("Maildir"), "", "all").redirectErrorStream(true)
                .start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) {
            throw new IOException("doveadm import for " + user + " failed: " + said);
        }
    }

    private void chown() throws Exception {
        Process p = new ProcessBuilder("chown", "-R", owner, dir.resolve("home").toString()).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("chown failed");
        }
    }

    /**
     * The commands of a POP3 firing, one at a time, writing nothing: USER, PASS, STAT, LIST, UIDL, RETR of each
     * message after the first {@code known} (the new ones come last), QUIT. Returns their uid and size.
     */
    private List<String[]> pop3Firing(String user, int known) throws IOException {
        List<String[]> all = pop3Session(user, known);
        return all.subList(Math.min(known, all.size()), all.size());
    }

    /** USER, PASS, STAT, LIST, UIDL, RETR of each message after the first {@code known}, QUIT: uid and size of all. */
    private List<String[]> pop3Session(String user, int known) throws IOException {
        try (Socket s = new Socket("127.0.0.1", pop3)) {
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
            OutputStream out = s.getOutputStream();
            ok(read(in));
            send(out, "USER " + user);
            ok(read(in));
            send(out, "PASS bench");
            ok(read(in));
            send(out, "STAT");
            ok(read(in));
            List<String[]> list = new ArrayList<>();
            send(out, "LIST");
            ok(read(in));
            for (String l = read(in); !l.equals("."); l = read(in)) {
                list.add(new String[] {null, l.split(" ")[1]});
            }
            send(out, "UIDL");
            ok(read(in));
            int i = 0;
            for (String l = read(in); !l.equals("."); l = read(in)) {
                list.get(i++)[0] = l.split(" ")[1];
            }
            for (int k = known; k < list.size(); k++) {
                send(out, "RETR " + (k + 1));
                ok(read(in));
                while (!read(in).equals(".")) {
                    // the message's lines
                }
            }
            send(out, "QUIT");
            ok(read(in));
            return list;
        }
    }

    /** The POP3 ledger learns messages as a firing that stored them a day ago leaves them. */
    private void learnPop3(String user, List<String[]> taken) throws IOException {
        Instant yesterday = Instant.now().minus(Duration.ofDays(1));
        try (UidLedger l = UidLedger.open(ledger("pop3", user), yesterday, x -> false)) {
            for (String[] m : taken) {
                l.stored(m[0], Long.parseLong(m[1]), yesterday);
            }
        }
    }

    /** STAT, LIST and UIDL of the whole mailbox: uid and size per message. */
    private List<String[]> uidl(String user) throws IOException {
        return pop3Session(user, Integer.MAX_VALUE);
    }

    /** EXAMINE's UIDVALIDITY and UID FETCH 1:* (UID RFC822.SIZE): uid and size per message. */
    private List<long[]> imapUids(String user, long[] validity) throws IOException {
        Pattern v = Pattern.compile("\\[UIDVALIDITY (\\d+)\\]");
        Pattern fetch = Pattern.compile("UID (\\d+)|RFC822\\.SIZE (\\d+)");
        try (Socket s = new Socket("127.0.0.1", imap)) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
            OutputStream out = s.getOutputStream();
            read(in);
            send(out, "a LOGIN " + user + " bench");
            untilTagged(in, "a", l -> { });
            // read-only, as the firings: a SELECT would move the delivered mail into cur/, and Dovecot rescans
            // a cur/ changed by the session before
            send(out, "b EXAMINE INBOX");
            untilTagged(in, "b", l -> {
                Matcher m = v.matcher(l);
                if (m.find()) {
                    validity[0] = Long.parseLong(m.group(1));
                }
            });
            List<long[]> list = new ArrayList<>();
            send(out, "c UID FETCH 1:* (UID RFC822.SIZE)");
            untilTagged(in, "c", l -> {
                long[] e = new long[2];
                Matcher m = fetch.matcher(l);
                while (m.find()) {
                    if (m.group(1) != null) {
                        e[0] = Long.parseLong(m.group(1));
                    } else {
                        e[1] = Long.parseLong(m.group(2));
                    }
                }
                if (e[0] > 0) {
                    list.add(e);
                }
            });
            send(out, "d LOGOUT");
            return list;
        }
    }

    /**
     * The commands of an IMAP firing with nothing due for deletion, one at a time, writing nothing: LOGIN,
     * SELECT (or {@code open}), UID FETCH above {@code mark} (UID RFC822.SIZE), FETCH of those (BODY.PEEK[]),
     * UNSELECT, LOGOUT. Returns how many bodies came.
     */
    private int imapFiring(String user, long mark, String open) throws IOException {
        try (Socket s = new Socket("127.0.0.1", imap)) {
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
            OutputStream out = s.getOutputStream();
            read(in);
            send(out, "a LOGIN " + user + " bench");
            untilTagged(in, "a", l -> { });
            send(out, "b " + open + " INBOX");
            untilTagged(in, "b", l -> { });
            List<Long> seqs = new ArrayList<>();
            Pattern f = Pattern.compile("^\\* (\\d+) FETCH .*UID (\\d+)");
            send(out, "c UID FETCH " + (mark + 1) + ":* (UID RFC822.SIZE)");
            untilTagged(in, "c", l -> {
                Matcher m = f.matcher(l);
                if (m.find() && Long.parseLong(m.group(2)) > mark) {
                    seqs.add(Long.parseLong(m.group(1)));
                }
            });
            if (seqs.isEmpty()) {
                throw new IOException(user + ": nothing above " + mark);
            }
            int[] bodies = new int[1];
            send(out, "d FETCH " + seqs.get(0) + ":" + seqs.get(seqs.size() - 1) + " (BODY.PEEK[])");
            while (true) {
                String l = read(in);
                if (l.startsWith("d ")) {
                    if (!l.startsWith("d OK")) {
                        throw new IOException(l);
                    }
                    break;
                }
                Matcher m = Pattern.compile("\\{(\\d+)\\}$").matcher(l);
                if (m.find()) {
                    in.readNBytes(Integer.parseInt(m.group(1)));
                    bodies[0]++;
                }
            }
            send(out, "e UNSELECT");
            untilTagged(in, "e", l -> { });
            send(out, "f LOGOUT");
            untilTagged(in, "f", l -> { });
            return bodies[0];
        }
    }

    /** LOGIN, SELECT (as the firing), UID FETCH of the last UID and above, LOGOUT. */
    private void imapAbove(String user) throws IOException {
        try (Socket s = new Socket("127.0.0.1", imap)) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
            OutputStream out = s.getOutputStream();
            read(in);
            send(out, "a LOGIN " + user + " bench");
            untilTagged(in, "a", l -> { });
            long[] next = new long[1];
            Pattern p = Pattern.compile("\\[UIDNEXT (\\d+)\\]");
            send(out, "b SELECT INBOX");
            untilTagged(in, "b", l -> {
                Matcher m = p.matcher(l);
                if (m.find()) {
                    next[0] = Long.parseLong(m.group(1));
                }
            });
            send(out, "c UID FETCH " + Math.max(1, next[0] - 1) + ":* (UID RFC822.SIZE)");
            untilTagged(in, "c", l -> { });
            send(out, "d LOGOUT");
            untilTagged(in, "d", l -> { });
        }
    }

    private static void untilTagged(InputStream in, String tag, java.util.function.Consumer<String> each) throws IOException {
        while (true) {
            String l = read(in);
            if (l.startsWith(tag + " ")) {
                if (!l.startsWith(tag + " OK")) {
                    throw new IOException(l);
                }
                return;
            }
            each.accept(l);
        }
    }

    private static void ok(String l) throws IOException {
        if (!l.startsWith("+OK")) {
            throw new IOException(l);
        }
    }

    private static void send(OutputStream out, String c) throws IOException {
        out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** One line without its CRLF. */
    private static String read(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }
}
