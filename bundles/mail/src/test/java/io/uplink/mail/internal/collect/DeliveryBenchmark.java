package io.uplink.mail.internal.collect;

import java.io.IOException;
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
import io.uplink.mail.testing.Dovecot;

/**
 * The delivery benchmark (run by {@code bench/delivery-benchmark.sh}, not a test): Uplink's collector takes
 * 4 KiB messages from a Dovecot POP3 mailbox and delivers them either into a local Maildir
 * ({@code delivery = maildir}) or to the same Dovecot's LMTP ({@code delivery = lmtp://…}), alternating,
 * each run on a fresh mailbox. Prints both rates per round and the median ratio LMTP / Maildir.
 * Arguments: run directory, messages, rounds.
 */
public final class DeliveryBenchmark {

    private final Dovecot dovecot;
    private final Path dir;

    private DeliveryBenchmark(Dovecot dovecot, Path dir) {
        this.dovecot = dovecot;
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        try (Dovecot d = Dovecot.start(dir.resolve("dovecot"), dir.resolve("mail"))) {
            DeliveryBenchmark b = new DeliveryBenchmark(d, dir);
            List<String> sources = new ArrayList<>(List.of("warm-maildir", "warm-lmtp"));
            for (int r = 1; r <= rounds; r++) {
                sources.add("maildir-" + r);
                sources.add("lmtp-" + r);
            }
            for (int r = 1; r <= rounds; r++) {
                d.user("office-raw-" + r);
            }
            for (String s : sources) {
                d.user(s);
                d.user("office-" + s);
                b.fill(s, s.startsWith("warm") ? Math.min(n, 300) : n);
            }
            d.own(d.mail());
            b.run("warm-maildir", false);
            b.run("warm-lmtp", true);
            System.out.printf(Locale.ROOT, "delivery benchmark: POP3 from Dovecot, %d messages of 4 KiB, %d round(s), %s%n",
                    n, rounds, dir);
            List<Double> ratios = new ArrayList<>();
            for (int r = 1; r <= rounds; r++) {
                double maildir = n / b.run("maildir-" + r, false);
                double lmtp = n / b.run("lmtp-" + r, true);
                double raw = n / b.rawLmtp("office-raw-" + r, n);
                ratios.add(lmtp / maildir);
                System.out.printf(Locale.ROOT, "round %d  maildir %6.0f msg/s   lmtp %6.0f msg/s   ratio %3.0f%%   "
                        + "(Dovecot LMTP alone, %d raw lock-step sessions: %6.0f msg/s)%n",
                        r, maildir, lmtp, 100 * lmtp / maildir, ServerDestination.SESSIONS, raw);
            }
            Collections.sort(ratios);
            System.out.printf(Locale.ROOT, "median ratio LMTP / Maildir %3.0f%% (target >= 50%%)%n", 100 * ratios.get(ratios.size() / 2));
        }
    }

    /** Collects one source mailbox; returns the seconds it took. */
    private double run(String source, boolean lmtp) throws InterruptedException {
        String[] kv = {"connections", "bench", "protocol", "pop3", "host", "127.0.0.1", "port",
            String.valueOf(dovecot.pop3Port()), "security", "none", "username", source, "password", Dovecot.PASSWORD,
            "deliverTo", lmtp ? "office-" + source + "@office.test" : "bench",
            "delivery", lmtp ? "lmtp://127.0.0.1:" + dovecot.lmtpPort() : "maildir"};
        long t0 = System.nanoTime();
        CollectReport r = Fixture.collection(Fixture.settings(source, kv), dir.resolve("out").resolve(source), Clock.systemUTC())
                .run(new Fixture.Context());
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!r.errors().isEmpty() || r.collected() == 0) {
            throw new IllegalStateException("incomplete run " + source + ": " + r);
        }
        return seconds;
    }

    /**
     * Dovecot's own LMTP ceiling: as many raw lock-step sessions as Uplink uses (MAIL, RCPT, DATA, body, one
     * reply each), nothing fetched; returns the seconds for {@code n} messages.
     */
    private double rawLmtp(String user, int n) throws Exception {
        StringBuilder body = new StringBuilder("Subject: raw\r\n\r\n");
        while (body.length() < 4096) {
            body.append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        byte[] message = (body + ".\r\n").getBytes(StandardCharsets.US_ASCII);
        int sessions = ServerDestination.SESSIONS;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(sessions);
        List<java.util.concurrent.Future<?>> done = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int k = 0; k < sessions; k++) {
            int count = n / sessions + (k < n % sessions ? 1 : 0);
            done.add(pool.submit(() -> {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", dovecot.lmtpPort())) {
                    s.setTcpNoDelay(true);
                    java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                            s.getInputStream(), StandardCharsets.US_ASCII));
                    java.io.OutputStream out = s.getOutputStream();
                    reply(in);
                    out.write("LHLO bench\r\n".getBytes(StandardCharsets.US_ASCII));
                    reply(in);
                    for (int i = 0; i < count; i++) {
                        for (String c : new String[] {"MAIL FROM:<sender@example.net>", "RCPT TO:<" + user + "@office.test>", "DATA"}) {
                            out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
                            reply(in);
                        }
                        out.write(message);
                        reply(in);
                    }
                }
                return null;
            }));
        }
        for (java.util.concurrent.Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void reply(java.io.BufferedReader in) throws IOException {
        String l;
        do {
            l = in.readLine();
            if (l == null || l.charAt(0) == '4' || l.charAt(0) == '5') {
                throw new IOException("LMTP: " + l);
            }
        } while (l.length() > 3 && l.charAt(3) == '-');
    }

    private void fill(String user, int n) throws IOException {
        Path newDir = dovecot.mail().resolve(user).resolve("new");
        Files.createDirectories(newDir);
        Files.createDirectories(dovecot.mail().resolve(user).resolve("cur"));
        Files.createDirectories(dovecot.mail().resolve(user).resolve("tmp"));
        StringBuilder body = new StringBuilder();
        while (body.length() < 4096 - 300) {
            body.append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        DeliveredNames names = new DeliveredNames(user.hashCode());
        for (int i = 0; i < n; i++) {
            String m = "From: sender@example.net\r\nTo: office@office.test\r\nSubject: benchmark " + i
                    + "\r\nMessage-ID: <" + i + "." + user + "@bench>\r\n\r\n" + body;
            Files.writeString(newDir.resolve(names.next(i)), m, StandardCharsets.US_ASCII);
        }
    }
}
