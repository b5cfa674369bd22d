package io.uplink.submission.internal;

import io.uplink.mail.internal.outbox.FileOutbox;
import io.uplink.mail.internal.outbox.Pickup;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The listener outside OSGi over a real outbox, for the strace check ({@code serve}) and the intake benchmark
 * ({@code bench}).
 *
 * <pre>
 * serve DIR                      listen on a free loopback port, print "PORT n", run until stdin closes
 * bench DIR COUNT CLIENTS        COUNT messages of 4 KiB from CLIENTS concurrent clients (lock-step SMTP,
 *                                one connection each), then COUNT files through the pickup folder (one scan
 *                                thread; its groups go through the same batch files)
 * </pre>
 */
public final class SubmissionMain {

    private SubmissionMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        Files.createDirectories(dir);
        FileOutbox outbox = new FileOutbox(dir.resolve("outbox"), dir.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
        SubmissionServer server = new SubmissionServer(SubmissionConfig.of(Map.of("listen", "127.0.0.1:0",
                "maxConnections", "64")), outbox, () -> null, (u, p) -> null);
        server.start();
        int port = server.ports().get(0);
        if (args[0].equals("serve")) {
            System.out.println("PORT " + port);
            System.out.flush();
            System.in.transferTo(OutputStream.nullOutputStream());
        } else {
            bench(outbox, port, Integer.parseInt(args[2]), Integer.parseInt(args[3]), dir);
        }
        server.close();
        outbox.close();
    }

    private static void bench(FileOutbox outbox, int port, int count, int clients, Path dir) throws Exception {
        String body = "x".repeat(76) + "\r\n";
        String padding = body.repeat(4096 / body.length());
        // warm-up: JIT and the first files
        runClients(port, 200, clients, padding, "warm");
        while (outbox.size() < 200) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        long[] before = outbox.intakeStats();
        long t0 = System.nanoTime();
        runClients(port, count, clients, padding, "bench");
        long t1 = System.nanoTime();
        long[] after = outbox.intakeStats();
        long groups = after[0] - before[0];
        long msgs = after[1] - before[1];
        long syncs = groups + after[2] - before[2];
        System.out.printf("submission: %d messages of 4 KiB from %d clients in %.2f s = %.0f msgs/s (250 answered durable); "
                + "%d group commits, %.1f messages per group, %.2f fsyncs per message on the 250 path%n",
                count, clients, (t1 - t0) / 1e9, count / ((t1 - t0) / 1e9), groups, (double) msgs / groups,
                (double) syncs / msgs);
        long t2 = System.nanoTime();
        while (outbox.size() < count + 200) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        System.out.printf("  in the queue's listing (installed without forcing; the batch files stay the durable copy) "
                + "%.2f s after the last 250%n",
                (System.nanoTime() - t2) / 1e9);

        // the pickup folder, same messages, one scan thread as in the product
        Path pickupDir = dir.resolve("pickup");
        Files.createDirectories(pickupDir);
        for (int i = 0; i < count; i++) {
            Files.writeString(pickupDir.resolve("m" + i + ".eml"), message("pickup-" + i, padding));
        }
        Pickup pickup = new Pickup(pickupDir, outbox);
        int base = outbox.size();
        long[] pb = outbox.intakeStats();
        long p0 = System.nanoTime();
        // a file is taken once it stopped changing, so the first scan only looks
        while (outbox.size() < base + count) {
            pickup.scan();
        }
        long p1 = System.nanoTime();
        long[] pa = outbox.intakeStats();
        long pGroups = pa[0] - pb[0];
        System.out.printf("pickup: %d files of 4 KiB in %.2f s = %.0f msgs/s (durable before each file is removed); "
                + "%d group commits, %.1f files per group, %.3f fsyncs per message before removal%n",
                count, (p1 - p0) / 1e9, count / ((p1 - p0) / 1e9), pGroups, (double) (pa[1] - pb[1]) / Math.max(1, pGroups),
                (double) (pGroups + pa[2] - pb[2]) / Math.max(1, pa[1] - pb[1]));
    }

    private static String message(String id, String padding) {
        return "From: bench@office.test\r\nTo: sink@example.com\r\nSubject: " + id + "\r\n\r\n" + padding;
    }

    private static void runClients(int port, int count, int clients, String padding, String tag) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int client = c;
            int share = count / clients + (c < count % clients ? 1 : 0);
            fs.add(pool.submit(() -> {
                client(port, share, tag + "-" + client, padding);
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
    }

    private static void client(int port, int count, String tag, String padding) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            send(out, in, "EHLO bench.test", "250");
            for (int i = 0; i < count; i++) {
                send(out, in, "MAIL FROM:<bench@office.test>", "250");
                send(out, in, "RCPT TO:<sink@example.com>", "250");
                send(out, in, "DATA", "354");
                send(out, in, message(tag + "-" + i, padding) + ".", "250");
            }
            send(out, in, "QUIT", "221");
        }
    }

    private static void send(OutputStream out, BufferedReader in, String line, String code) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        expect(in, code);
    }

    private static void expect(BufferedReader in, String code) throws IOException {
        String l;
        while ((l = in.readLine()) != null && l.length() > 3 && l.charAt(3) == '-') {
            // continuation lines
        }
        if (l == null || !l.startsWith(code)) {
            throw new IOException("expected " + code + ", got " + l);
        }
    }
}
