package io.uplink.mail.internal.send;

import io.uplink.api.mail.SendReport;
import io.uplink.mail.internal.outbox.FileOutbox;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Send benchmark (not a test): N messages of 4 KiB to an SMTP server on loopback (Postfix's smtp-sink, started
 * by bench/send-benchmark.sh), by Uplink (outbox + Mail Sender, one session) and by a raw lock-step client
 * (one command, wait for its reply; no pipelining) over one session, in the same run. Prints msgs/s and the
 * ratio per round (raw and Uplink alternate) and the median ratio: single runs on a shared machine swing
 * widely. Arguments: port [count] [work folder] [rounds].
 */
public final class SendBenchmark {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        Path work = args.length > 2 ? Path.of(args[2]) : Files.createTempDirectory("uplink-send-bench");
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        // a fresh folder per run: creating files where many were just deleted is slow on this file system
        Path run = Files.createDirectories(work.resolve("run-" + System.currentTimeMillis()));
        byte[][] messages = new byte[count][];
        for (int i = 0; i < count; i++) {
            messages[i] = message(i);
        }

        // warm-up of both paths (JIT), not measured
        raw(port, 200, messages);
        uplink(port, run.resolve("warmup"), 200, messages);

        // every round's queue is filled first, so the rounds time sending only
        FileOutbox[] outboxes = new FileOutbox[rounds];
        long q0 = System.nanoTime();
        for (int round = 0; round < rounds; round++) {
            outboxes[round] = new FileOutbox(run.resolve("outbox-" + round), run.resolve("postmaster"), Clock.systemUTC(),
                    FileOutbox.Retry.DEFAULT);
            for (int i = 0; i < count; i++) {
                outboxes[round].queue(null, List.of(), new ByteArrayInputStream(messages[i]));
            }
        }
        double queueRate = rounds * count / ((System.nanoTime() - q0) / 1e9);

        System.out.printf("send benchmark: %d messages of 4 KiB to smtp-sink on 127.0.0.1:%d, %d round(s)%n", count, port,
                rounds);
        List<Double> ratios = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            long t0 = System.nanoTime();
            raw(port, count, messages);
            double rawRate = count / ((System.nanoTime() - t0) / 1e9);
            long s0 = System.nanoTime();
            SendReport r = sender(outboxes[round], port).send(new SendFixture.Context());
            double sendRate = count / ((System.nanoTime() - s0) / 1e9);
            if (r.sent() != count) {
                throw new IllegalStateException("sent " + r.sent() + " of " + count + ": " + r.errors());
            }
            ratios.add(sendRate / rawRate);
            System.out.printf("  round %d: raw lock-step SMTP client %6.0f msgs/s   Uplink Mail Sender %6.0f msgs/s   ratio %3.0f%%%n",
                    round + 1, rawRate, sendRate, 100 * sendRate / rawRate);
        }
        Collections.sort(ratios);
        System.out.printf("  median ratio %.0f%% (target >= 25%%)%n", 100 * ratios.get(ratios.size() / 2));
        System.out.printf("  Uplink queueing (fsync'd): %.0f msgs/s (not part of the ratio)%n", queueRate);
    }

    static byte[] message(int i) {
        StringBuilder b = new StringBuilder();
        b.append("From: bench@example.org\r\nTo: sink@example.net\r\nSubject: bench ").append(i)
                .append("\r\nMessage-ID: <bench-").append(i).append("@example.org>\r\n\r\n");
        while (b.length() < 4096 - 80) {
            b.append("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?\r\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static SmtpSender sender(FileOutbox outbox, int port) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.sender~bench");
        p.put("hosts", "127.0.0.1:" + port);
        p.put("security", "none");
        return new SmtpSender(outbox, p);
    }

    private static void uplink(int port, Path dir, int n, byte[][] messages) throws Exception {
        FileOutbox o = new FileOutbox(dir, dir.resolve("postmaster"), Clock.systemUTC(), FileOutbox.Retry.DEFAULT);
        for (int i = 0; i < n; i++) {
            o.queue(null, List.of(), new ByteArrayInputStream(messages[i]));
        }
        sender(o, port).send(new SendFixture.Context());
    }

    /** The reference: one session, each command sent and its reply awaited; dot-stuffing as SMTP needs. */
    static void raw(int port, int n, byte[][] messages) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            command(out, in, "EHLO bench.example.org", "250");
            for (int i = 0; i < n; i++) {
                command(out, in, "MAIL FROM:<bench@example.org>", "250");
                command(out, in, "RCPT TO:<sink@example.net>", "250");
                command(out, in, "DATA", "354");
                out.write(messages[i]); // the bench messages have no line starting with '.'
                out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                expect(in, "250");
            }
            command(out, in, "QUIT", "221");
        }
    }

    private static void command(OutputStream out, BufferedReader in, String cmd, String code) throws IOException {
        out.write((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        expect(in, code);
    }

    private static void expect(BufferedReader in, String code) throws IOException {
        String line;
        do {
            line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed, expected " + code);
            }
        } while (line.length() > 3 && line.charAt(3) == '-');
        if (!line.startsWith(code)) {
            throw new IOException("expected " + code + ", got " + line);
        }
    }

}
