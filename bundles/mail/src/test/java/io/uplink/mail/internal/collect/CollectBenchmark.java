package io.uplink.mail.internal.collect;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import io.uplink.api.mail.CollectReport;
import io.uplink.mail.internal.DeliveredNames;

/**
 * The collect side of the benchmark (run by {@code bench/collect-benchmark.sh}, not a test): against a
 * Dovecot on loopback, Uplink's collector (delete after store, every message fsync'd) beside a raw
 * lock-step client (one command, wait for its reply, no pipelining, nothing written) on the same server.
 * Arguments: run directory, messages, POP3 port, IMAP port, mail uid, mail gid[, rounds].
 */
public final class CollectBenchmark {

    private final Path dir;
    private final int pop3;
    private final int imap;
    private final String owner;

    private CollectBenchmark(Path dir, int pop3, int imap, String owner) {
        this.dir = dir;
        this.pop3 = pop3;
        this.imap = imap;
        this.owner = owner;
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("scale")) {
            scale(Path.of(args[1]), args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                    args[6] + ":" + args[7]);
            return;
        }
        if (args[0].equals("stores")) {
            new CollectBenchmark(Path.of(args[1]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), args[5] + ":" + args[6])
                    .stores(Integer.parseInt(args[2]), Integer.parseInt(args[7]));
            return;
        }
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int rounds = args.length > 6 ? Integer.parseInt(args[6]) : 1;
        CollectBenchmark b = new CollectBenchmark(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]), args[4] + ":" + args[5]);
        List<String> timed = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            for (String p : new String[] {"pop3", "imap"}) {
                timed.add("raw-" + p + "-" + r);
                timed.add("uplink-" + p + "-" + r);
            }
        }
        List<String> warm = List.of("warm-raw-pop3", "warm-uplink-pop3", "warm-raw-imap", "warm-uplink-imap");
        for (String u : warm) {
            b.fill(u, Math.min(n, 300));
        }
        for (String u : timed) {
            b.fill(u, n);
        }
        b.chown();
        // let Dovecot index every mailbox before anything is timed
        for (String u : warm) {
            b.rawPop3(u, 0);
        }
        for (String u : timed) {
            b.rawPop3(u, 0);
        }
        // warm the JIT for both clients
        b.rawPop3("warm-raw-pop3", Math.min(n, 300));
        b.uplink("pop3", "warm-uplink-pop3");
        b.rawImap("warm-raw-imap", Math.min(n, 300));
        b.uplink("imap", "warm-uplink-imap");

        System.out.printf(Locale.ROOT, "collect benchmark: %d messages of 4 KiB, Dovecot on loopback, %d round(s), %s%n",
                n, rounds, dir);
        String loadBefore = loadAverage();
        List<String> summary = new ArrayList<>();
        for (String protocol : new String[] {"pop3", "imap"}) {
            List<Double> ratios = new ArrayList<>();
            List<Double> raws = new ArrayList<>();
            List<Double> ups = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                long t0 = System.nanoTime();
                int raw = protocol.equals("pop3") ? b.rawPop3("raw-pop3-" + round, n) : b.rawImap("raw-imap-" + round, n);
                double rawSeconds = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                CollectReport r = b.uplink(protocol, "uplink-" + protocol + "-" + round);
                double upSeconds = (System.nanoTime() - t0) / 1e9;
                if (raw != n || r.collected() != n || !r.errors().isEmpty()) {
                    throw new IllegalStateException("incomplete run: raw " + raw + ", uplink " + r);
                }
                double rawRate = n / rawSeconds;
                double upRate = n / upSeconds;
                ratios.add(upRate / rawRate);
                raws.add(rawRate);
                ups.add(upRate);
                System.out.printf(Locale.ROOT, "%-4s  round %d  raw lock-step %7.0f msg/s   uplink %7.0f msg/s   ratio %3.0f%%%n",
                        protocol.toUpperCase(Locale.ROOT), round, rawRate, upRate, 100 * upRate / rawRate);
            }
            Collections.sort(ratios);
            summary.add(String.format(Locale.ROOT,
                    "%-4s  median ratio %3.0f%% (rounds %3.0f%% to %3.0f%%); median raw %5.0f msg/s, median uplink %5.0f msg/s",
                    protocol.toUpperCase(Locale.ROOT), 100 * median(ratios), 100 * ratios.get(0),
                    100 * ratios.get(ratios.size() - 1), median(raws), median(ups)));
        }
        System.out.println();
        summary.forEach(System.out::println);
        System.out.println("targets: POP3 >= 50%, IMAP >= 80% (median ratio)");
        System.out.println("load average (1/5/15 min): before " + loadBefore + "  ->  after " + loadAverage());
    }

    /** The median (of an odd count: the middle one; of an even count: the mean of the two middle ones). */
    private static double median(List<Double> values) {
        List<Double> v = new ArrayList<>(values);
        Collections.sort(v);
        int m = v.size() / 2;
        return v.size() % 2 == 1 ? v.get(m) : (v.get(m - 1) + v.get(m)) / 2;
    }

    private static String loadAverage() throws IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return f[0] + " " + f[1] + " " + f[2];
    }

    /**
     * Whether the rate stays flat as the mailbox grows: one fresh mailbox per size, protocol, round and client
     * ({@code sizes} comma-separated, users {@code scale-<client>-<protocol>-<size>-<round>}), filled and flushed
     * to disk before anything is timed, after a warm-up of 2,000 messages. For each size the raw lock-step client
     * runs right before Uplink (same settings as above), each on a mailbox of its own. Each round takes the sizes
     * in another order (round 2 starts with the second size, and so on), so that no size always follows the
     * server's deletion of the biggest mailbox (which slows file creation on this file system for a while).
     * Prints per firing Uplink's phases and the raw client's deletion (QUIT, or STORE + EXPUNGE: the server
     * removing the files), then per size the medians of: Uplink's rate, Uplink's own part (sign-in, listing,
     * fetch and store: everything but the server's deletion), the raw client's rate, and Uplink against raw;
     * and for each the slowest size's median against the fastest's.
     */
    private static void scale(Path dir, String sizes, int rounds, int pop3, int imap, String owner) throws Exception {
        CollectBenchmark b = new CollectBenchmark(dir, pop3, imap, owner);
        List<Integer> ns = new ArrayList<>();
        for (String x : sizes.split(",")) {
            ns.add(Integer.parseInt(x.trim()));
        }
        String[] protocols = {"pop3", "imap"};
        String[] clients = {"raw", "uplink"};
        b.fill("warm-uplink-pop3", 2000);
        b.fill("warm-uplink-imap", 2000);
        for (int r = 1; r <= rounds; r++) {
            for (String p : protocols) {
                for (int n : ns) {
                    for (String c : clients) {
                        b.fill(scaleUser(c, p, n, r), n);
                    }
                }
            }
        }
        b.chown();
        // the fill's own writes (hundreds of MiB) must not be flushed during a timed run
        if (new ProcessBuilder("sync").inheritIO().start().waitFor() != 0) {
            throw new IOException("sync failed");
        }
        for (String p : protocols) {
            b.rawPop3("warm-uplink-" + p, 0);
            for (int r = 1; r <= rounds; r++) {
                for (int n : ns) {
                    for (String c : clients) {
                        b.rawPop3(scaleUser(c, p, n, r), 0);
                    }
                }
            }
        }
        b.uplink("pop3", "warm-uplink-pop3");
        b.uplink("imap", "warm-uplink-imap");
        System.out.printf(Locale.ROOT, "collect scale benchmark: %s messages of 4 KiB, %d round(s), Dovecot on loopback, %s%n",
                sizes, rounds, dir);
        String loadBefore = loadAverage();
        java.util.Map<String, List<Double>> rates = new java.util.TreeMap<>();
        for (int r = 1; r <= rounds; r++) {
            for (int k = 0; k < ns.size(); k++) {
                int n = ns.get((k + r - 1) % ns.size());
                for (String p : protocols) {
                    long t0 = System.nanoTime();
                    int raw = p.equals("pop3") ? b.rawPop3(scaleUser("raw", p, n, r), n) : b.rawImap(scaleUser("raw", p, n, r), n);
                    double rawRate = n / ((System.nanoTime() - t0) / 1e9);
                    long rawDeletion = b.rawDeletionNanos;
                    Phases phases = new Phases();
                    t0 = System.nanoTime();
                    CollectReport report = b.uplink(p, scaleUser("uplink", p, n, r), null, phases);
                    long t1 = System.nanoTime();
                    double rate = n / ((t1 - t0) / 1e9);
                    if (raw != n || report.collected() != n || !report.errors().isEmpty()) {
                        throw new IllegalStateException("incomplete run: raw " + raw + ", uplink " + report);
                    }
                    double own = n / ((phases.last - t0) / 1e9);
                    add(rates, p, n, "uplink", rate);
                    add(rates, p, n, "own", own);
                    add(rates, p, n, "raw", rawRate);
                    add(rates, p, n, "ratio", rate / rawRate);
                    System.out.printf(Locale.ROOT, "%-4s %6d messages round %d  raw %5.0f msg/s (deletion %5d ms)  uplink %5.0f msg/s"
                            + " (%3.0f%%; sign-in + listing %5d ms, fetch + store %5d ms, deletion + logout %5d ms)  load %s%n",
                            p.toUpperCase(Locale.ROOT), n, r, rawRate, rawDeletion / 1_000_000, rate, 100 * rate / rawRate,
                            (phases.first - t0) / 1_000_000, (phases.last - phases.first) / 1_000_000, (t1 - phases.last) / 1_000_000,
                            loadAverage());
                }
            }
        }
        System.out.println();
        String[][] figures = {{"uplink", "Uplink msg/s", "the issue's figure"}, {"own", "Uplink without the server's deletion",
            ""}, {"raw", "raw lock-step msg/s", ""}, {"ratio", "Uplink / raw", ""}};
        for (String p : protocols) {
            for (String[] f : figures) {
                double min = Double.MAX_VALUE;
                double max = 0;
                boolean ratio = f[0].equals("ratio");
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-4s  %-37s", p.toUpperCase(Locale.ROOT), f[1] + ":"));
                for (int n : ns) {
                    List<Double> v = rates.get(p + " " + n + " " + f[0]);
                    double m = median(v);
                    min = Math.min(min, m);
                    max = Math.max(max, m);
                    double scale = ratio ? 100 : 1;
                    line.append(String.format(Locale.ROOT, ratio ? "  %6d: %4.0f%% (%3.0f to %3.0f)" : "  %6d: %5.0f (%5.0f to %5.0f)", n,
                            scale * m, scale * java.util.Collections.min(v), scale * java.util.Collections.max(v)));
                }
                line.append(String.format(Locale.ROOT, "   slowest %3.0f%% of fastest%s", 100 * min / max,
                        f[2].isEmpty() ? "" : " (" + f[2] + "; flat means >= 80%)"));
                System.out.println(line);
            }
        }
        System.out.println("load average (1/5/15 min): before " + loadBefore + "  ->  after " + loadAverage());
    }

    private static void add(java.util.Map<String, List<Double>> rates, String protocol, int n, String figure, double value) {
        rates.computeIfAbsent(protocol + " " + n + " " + figure, x -> new ArrayList<>()).add(value);
    }

    /**
     * When a run's phases ended, from its progress reports: the first comes when the listing is done, the last
     * once every message is stored and the ledger forced; what follows is the deletion and the logout.
     */
    private static final class Phases extends Fixture.Context {
        volatile long first;
        volatile long last;

        @Override
        public void progress(String message, int done, int total) {
            long now = System.nanoTime();
            if (first == 0) {
                first = now;
            }
            last = now;
        }
    }

    private static String scaleUser(String client, String protocol, int n, int round) {
        return "scale-" + client + "-" + protocol + "-" + n + "-" + round;
    }

    /**
     * The ledger stores against each other: Uplink's collector on the same kind of mailbox with its ledger in a file
     * and in a private PostgreSQL (fsync on, every write through a fence as on a cluster node), in alternating
     * rounds (which store goes first alternates too); prints both rates and the database's against the file's.
     */
    private void stores(int n, int rounds) throws Exception {
        List<String> users = new ArrayList<>(List.of("warm-file-pop3", "warm-db-pop3", "warm-file-imap", "warm-db-imap"));
        for (int r = 1; r <= rounds; r++) {
            for (String p : new String[] {"pop3", "imap"}) {
                users.add("file-" + p + "-" + r);
                users.add("db-" + p + "-" + r);
            }
        }
        for (String u : users) {
            fill(u, u.startsWith("warm-") ? Math.min(n, 500) : n);
        }
        chown();
        if (new ProcessBuilder("sync").inheritIO().start().waitFor() != 0) {
            throw new IOException("sync failed");
        }
        for (String u : users) {
            rawPop3(u, 0);
        }
        try (io.uplink.testsupport.PostgresServer pg = io.uplink.testsupport.PostgresServer.start(true)) {
            String db = pg.createDatabase();
            org.postgresql.ds.PGSimpleDataSource ds = new org.postgresql.ds.PGSimpleDataSource();
            ds.setUrl(pg.url(db));
            ds.setUser(pg.user());
            try (io.uplink.testsupport.SessionFence fence = io.uplink.testsupport.SessionFence.acquire(pg, db, "bench", "bench")) {
                io.uplink.mail.internal.ledger.LedgerStore jdbc = new io.uplink.mail.internal.ledger.JdbcLedgers(ds,
                        id -> java.util.Optional.of(fence));
                for (String p : new String[] {"pop3", "imap"}) {
                    uplink(p, "warm-file-" + p, null);
                    uplink(p, "warm-db-" + p, jdbc);
                }
                String load = loadAverage();
                System.out.printf(Locale.ROOT, "ledger store benchmark: %d messages of 4 KiB, Dovecot on loopback, PostgreSQL %s"
                        + " (fsync on), %d round(s), %s%n", n, pg.url(db), rounds, dir);
                for (String p : new String[] {"pop3", "imap"}) {
                    List<Double> ratios = new ArrayList<>();
                    for (int round = 1; round <= rounds; round++) {
                        double file = 0;
                        double database = 0;
                        for (int k = 0; k < 2; k++) {
                            boolean db1 = (round + k) % 2 == 0;
                            long t0 = System.nanoTime();
                            CollectReport r = uplink(p, (db1 ? "db-" : "file-") + p + "-" + round, db1 ? jdbc : null);
                            double rate = n / ((System.nanoTime() - t0) / 1e9);
                            if (r.collected() != n || !r.errors().isEmpty()) {
                                throw new IllegalStateException("incomplete run: " + r);
                            }
                            if (db1) {
                                database = rate;
                            } else {
                                file = rate;
                            }
                        }
                        ratios.add(database / file);
                        System.out.printf(Locale.ROOT, "%-4s  round %d  file %7.0f msg/s   PostgreSQL %7.0f msg/s   ratio %3.0f%%%n",
                                p.toUpperCase(Locale.ROOT), round, file, database, 100 * database / file);
                    }
                    Collections.sort(ratios);
                    System.out.printf(Locale.ROOT, "%-4s  median ratio %3.0f%% (target: PostgreSQL >= 50%% of file)%n",
                            p.toUpperCase(Locale.ROOT), 100 * ratios.get(ratios.size() / 2));
                }
                bigLedger(jdbc);
                System.out.printf(Locale.ROOT, "load average %s -> %s%n", load, loadAverage());
            }
        }
    }

    /** A ledger of 100,000 entries in the database: how long opening it (reading every row) and a full listing take. */
    private static void bigLedger(io.uplink.mail.internal.ledger.LedgerStore jdbc) throws IOException {
        int n = 100_000;
        java.time.Instant t0 = java.time.Instant.now();
        List<String> uids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            uids.add(String.format("%08X5f3e2a1%d", i, i % 10));
        }
        try (io.uplink.mail.internal.ledger.Ledger l = jdbc.open("big", new Fixture.Context(), t0, p -> false)) {
            for (int i = 0; i < n; i += 1000) {
                java.util.Map<String, Long> batch = new java.util.LinkedHashMap<>();
                for (String u : uids.subList(i, i + 1000)) {
                    batch.put(u, 4096L);
                }
                l.stored(batch, t0);
            }
        }
        for (int round = 1; round <= 3; round++) {
            long a = System.nanoTime();
            try (io.uplink.mail.internal.ledger.Ledger l = jdbc.open("big", new Fixture.Context(), t0, p -> false)) {
                long opened = System.nanoTime();
                io.uplink.mail.internal.ledger.Ledger.Listing listing = l.listing();
                for (String u : uids) {
                    listing.seen(u, 4096);
                }
                for (int k = 0; k < 10; k++) {
                    listing.seen("new-" + round + "-" + k, 4096);
                }
                listing.finish(t0.plusSeconds(round), java.time.Duration.ofDays(30));
                l.sync();
                System.out.printf(Locale.ROOT, "100,000-entry ledger in PostgreSQL, round %d: open %4d ms, full listing with 10 new"
                        + " + sync %4d ms%n", round, (opened - a) / 1_000_000, (System.nanoTime() - opened) / 1_000_000);
            }
        }
    }

    /** How long the last raw client's deletion took (POP3: QUIT; IMAP: STORE, EXPUNGE and LOGOUT). */
    private long rawDeletionNanos;

    private void fill(String user, int n) throws IOException {
        Path newDir = dir.resolve("home").resolve(user).resolve("Maildir/new");
        StringBuilder body = new StringBuilder();
        while (body.length() < 4096 - 300) {
            body.append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        DeliveredNames names = new DeliveredNames(user.hashCode());
        for (int i = 0; i < n; i++) {
            String m = "From: sender@example.net\r\nTo: " + user + "@example.net\r\nSubject: benchmark " + i
                    + "\r\nMessage-ID: <" + i + "." + user + "@bench>\r\n\r\n" + body;
            byte[] bytes = m.getBytes(StandardCharsets.US_ASCII);
            // named as Dovecot's own delivery names a file: S= its size, W= its size with CRLF line ends (the
            // same, the lines end in CRLF already), so that Dovecot answers LIST and RFC822.SIZE from the name
            // as it does for mail it delivered, instead of reading every file once for its size
            Files.write(newDir.resolve(names.next(i, bytes.length, bytes.length)), bytes);
        }
    }

    private void chown() throws Exception {
        Process p = new ProcessBuilder("chown", "-R", owner, dir.resolve("home").toString()).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("chown failed");
        }
    }

    private CollectReport uplink(String protocol, String user) throws InterruptedException {
        return uplink(protocol, user, null);
    }

    private CollectReport uplink(String protocol, String user, io.uplink.mail.internal.ledger.LedgerStore ledgers)
            throws InterruptedException {
        return uplink(protocol, user, ledgers, new Fixture.Context());
    }

    /** One firing's collection; {@code ledgers}: null for the file store in the run's {@code state/}. */
    private CollectReport uplink(String protocol, String user, io.uplink.mail.internal.ledger.LedgerStore ledgers,
            Fixture.Context context) throws InterruptedException {
        Path out = dir.resolve("out").resolve(user);
        io.uplink.api.config.Settings s = Fixture.settings(user, "connections", "bench", "protocol", protocol, "host",
                "127.0.0.1", "port", String.valueOf(protocol.equals("pop3") ? pop3 : imap), "security", "none", "username",
                user, "password", "bench", "deliverTo", "bench");
        if (ledgers == null) {
            return Fixture.collection(s, out, Clock.systemUTC()).run(context);
        }
        CollectorSettings c = CollectorSettings.of(s);
        return Collection.of(c, out.resolve("mailboxes"), ledgers, Clock.systemUTC(),
                io.uplink.mail.internal.auth.SignIn.password(c.password)).run(context);
    }

    /** RETR and DELE each message in lock-step; returns how many were retrieved. */
    private int rawPop3(String user, int n) throws IOException {
        try (Socket s = new Socket("127.0.0.1", pop3)) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
            OutputStream out = s.getOutputStream();
            expect(line(in), "+OK");
            command(out, "USER " + user);
            expect(line(in), "+OK");
            command(out, "PASS bench");
            expect(line(in), "+OK");
            int got = 0;
            for (int i = 1; i <= n; i++) {
                command(out, "RETR " + i);
                expect(line(in), "+OK");
                while (!line(in).equals(".\r\n")) {
                    // the message's lines
                }
                got++;
                command(out, "DELE " + i);
                expect(line(in), "+OK");
            }
            long d = System.nanoTime();
            command(out, "QUIT");
            expect(line(in), "+OK");
            rawDeletionNanos = System.nanoTime() - d;
            return got;
        }
    }

    /**
     * FETCH each message in lock-step, then mark them all \Deleted in one STORE and EXPUNGE; returns how many
     * were fetched. (A STORE per message would make Dovecot rescan the mailbox each time and make the reference
     * several times slower than what a lock-step client can do.)
     */
    private int rawImap(String user, int n) throws IOException {
        try (Socket s = new Socket("127.0.0.1", imap)) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
            OutputStream out = s.getOutputStream();
            line(in);
            int tag = 0;
            tagged(in, out, "a" + ++tag, "LOGIN " + user + " bench");
            tagged(in, out, "a" + ++tag, "SELECT INBOX");
            int got = 0;
            for (int i = 1; i <= n; i++) {
                tagged(in, out, "a" + ++tag, "FETCH " + i + " BODY.PEEK[]");
                got++;
            }
            long d = System.nanoTime();
            if (n > 0) {
                tagged(in, out, "a" + ++tag, "STORE 1:" + n + " +FLAGS.SILENT (\\Deleted)");
            }
            tagged(in, out, "a" + ++tag, "EXPUNGE");
            tagged(in, out, "a" + ++tag, "LOGOUT");
            rawDeletionNanos = System.nanoTime() - d;
            return got;
        }
    }

    private static void tagged(InputStream in, OutputStream out, String tag, String cmd) throws IOException {
        command(out, tag + " " + cmd);
        while (true) {
            String l = line(in);
            if (l.endsWith("}\r\n")) {
                int open = l.lastIndexOf('{');
                in.readNBytes(Integer.parseInt(l.substring(open + 1, l.length() - 3)));
                continue;
            }
            if (l.startsWith(tag + " ")) {
                expect(l, tag + " OK");
                return;
            }
        }
    }

    private static void command(OutputStream out, String c) throws IOException {
        out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void expect(String line, String start) throws IOException {
        if (!line.startsWith(start)) {
            throw new IOException("expected " + start + ", got " + line);
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            if (c == '\n') {
                break;
            }
        }
        if (c < 0) {
            throw new IOException("connection closed");
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }
}
