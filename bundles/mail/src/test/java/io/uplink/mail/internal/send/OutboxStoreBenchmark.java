package io.uplink.mail.internal.send;

import io.uplink.api.cluster.Fence;
import io.uplink.api.mail.SendReport;
import io.uplink.mail.internal.outbox.FileOutbox;
import io.uplink.mail.internal.outbox.JdbcOutbox;
import io.uplink.mail.internal.outbox.OutboxStore;
import io.uplink.testsupport.PostgresServer;
import io.uplink.testsupport.SessionFence;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * Outbox store benchmark (not a test): the PostgreSQL outbox against the file outbox for one sender. Per store, N
 * messages of 4 KiB queued one after the other ({@code queue}, a commit each), N submitted by 8 threads at once
 * ({@code submit}, group commit), then all 2N sent in one firing of one Mail Sender to an SMTP server on loopback
 * (Postfix's smtp-sink, started by bench/outbox-store-benchmark.sh). PostgreSQL is a private server with fsync on,
 * reached through a HikariCP pool as in the cluster bundle. Also the cost of a 1 MiB body as bytea against a large
 * object. Arguments: port [count].
 */
public final class OutboxStoreBenchmark {

    private static final int THREADS = 8;

    private record Rates(double queue, double submit, double send) {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        byte[][] messages = new byte[2 * count][];
        for (int i = 0; i < messages.length; i++) {
            messages[i] = SendBenchmark.message(i);
        }
        Path work = Files.createTempDirectory("uplink-outbox-store-bench");
        try (PostgresServer pg = PostgresServer.start(true)) {
            String db = pg.createDatabase();
            HikariConfig hc = new HikariConfig();
            hc.setJdbcUrl(pg.url(db));
            hc.setUsername(pg.user());
            hc.setMaximumPoolSize(THREADS + 2);
            try (HikariDataSource ds = new HikariDataSource(hc); SessionFence fence = SessionFence.acquire(pg, db, "test",
                    "f1", "bench")) {
                Map<String, Fence> fences = Map.of("test", fence);
                // warm-up of both paths (JIT, pool), not measured
                run(new FileOutbox(work.resolve("warm"), work.resolve("postmaster"), Clock.systemUTC(),
                        FileOutbox.Retry.DEFAULT), port, messages, 100);
                run(jdbc(ds, fences, work), port, messages, 100);

                Rates file = run(new FileOutbox(work.resolve("outbox"), work.resolve("postmaster"), Clock.systemUTC(),
                        FileOutbox.Retry.DEFAULT), port, messages, count);
                Rates jdbc = run(jdbc(ds, fences, work), port, messages, count);
                double[] bodies = bodies(ds);

                System.out.printf("outbox store benchmark: %d + %d messages of 4 KiB per store, one Mail Sender to"
                        + " smtp-sink on 127.0.0.1:%d; PostgreSQL with fsync on%n", count, count, port);
                System.out.printf("  %-22s %12s %18s %12s%n", "store", "queue msg/s", "submit msg/s (x8)", "send msg/s");
                System.out.printf("  %-22s %12.0f %18.0f %12.0f%n", "files (single node)", file.queue(), file.submit(),
                        file.send());
                System.out.printf("  %-22s %12.0f %18.0f %12.0f%n", "PostgreSQL (cluster)", jdbc.queue(), jdbc.submit(),
                        jdbc.send());
                System.out.printf("  %-22s %11.0f%% %17.0f%% %11.0f%%   (target >= 50%%)%n", "PostgreSQL / files",
                        100 * jdbc.queue() / file.queue(), 100 * jdbc.submit() / file.submit(),
                        100 * jdbc.send() / file.send());
                System.out.printf("  1 MiB bodies, write+read, one commit each: bytea %.0f/s, large object %.0f/s%n",
                        bodies[0], bodies[1]);
            }
        }
    }

    private static JdbcOutbox jdbc(HikariDataSource ds, Map<String, Fence> fences, Path work) throws Exception {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS uplink_outbox_rcpt, uplink_outbox_message");
        }
        return new JdbcOutbox(ds, id -> Optional.ofNullable(fences.get(id)), work.resolve("postmaster"),
                FileOutbox.Bounces.POSTMASTER_ONLY, Clock.systemUTC(), FileOutbox.Retry.DEFAULT);
    }

    private static Rates run(OutboxStore o, int port, byte[][] messages, int count) throws Exception {
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            o.queue(null, List.of(), new ByteArrayInputStream(messages[i]));
        }
        double queue = count / ((System.nanoTime() - t0) / 1e9);

        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        long s0 = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int i = count; i < 2 * count; i++) {
            byte[] m = messages[i];
            done.add(pool.submit(() -> o.submit(null, List.of(), m)));
        }
        for (Future<?> f : done) {
            f.get();
        }
        double submit = count / ((System.nanoTime() - s0) / 1e9);
        pool.shutdown();

        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.sender~bench");
        p.put("hosts", "127.0.0.1:" + port);
        p.put("security", "none");
        long d0 = System.nanoTime();
        SendReport r = new SmtpSender(o, p).send(new SendFixture.Context());
        double send = 2 * count / ((System.nanoTime() - d0) / 1e9);
        if (r.sent() != 2 * count || o.size() != 0) {
            throw new IllegalStateException("sent " + r.sent() + " of " + 2 * count + ": " + r.errors());
        }
        o.close();
        return new Rates(queue, submit, send);
    }

    /** Writes and reads back 1 MiB bodies: as bytea, and as large objects. */
    private static double[] bodies(HikariDataSource ds) throws Exception {
        byte[] body = new byte[1 << 20];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) ('a' + i % 26);
        }
        int n = 50;
        double[] rates = new double[2];
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE bench_bytea (id int PRIMARY KEY, body bytea)");
            st.execute("CREATE TEMP TABLE bench_lo (id int PRIMARY KEY, body oid)");
            String[][] sql = {{"INSERT INTO bench_bytea VALUES (?, ?)", "SELECT body FROM bench_bytea WHERE id = ?"},
                {"INSERT INTO bench_lo VALUES (?, lo_from_bytea(0, ?))", "SELECT lo_get(body) FROM bench_lo WHERE id = ?"}};
            for (int k = 0; k < 2; k++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    try (PreparedStatement w = c.prepareStatement(sql[k][0])) {
                        w.setInt(1, i);
                        w.setBytes(2, body);
                        w.executeUpdate();
                    }
                    try (PreparedStatement r = c.prepareStatement(sql[k][1])) {
                        r.setInt(1, i);
                        try (ResultSet rs = r.executeQuery()) {
                            rs.next();
                            if (rs.getBytes(1).length != body.length) {
                                throw new IllegalStateException("body read back short");
                            }
                        }
                    }
                }
                rates[k] = n / ((System.nanoTime() - t0) / 1e9);
            }
        }
        return rates;
    }
}
