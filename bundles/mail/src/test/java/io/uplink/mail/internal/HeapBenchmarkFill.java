package io.uplink.mail.internal;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.uplink.mail.internal.outbox.FileOutbox;

/**
 * Prepares the heap benchmark (run by {@code bench/heap-benchmark.sh}, not a test): queues N messages of 4 KiB
 * in a stopped distribution's outbox and puts N messages into the Maildir a Dovecot serves, so that one firing
 * of the distribution's connection sends N and collects N. Arguments: karaf.data, Dovecot Maildir, N.
 */
public final class HeapBenchmarkFill {

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        Path maildir = Path.of(args[1]);
        int n = Integer.parseInt(args[2]);
        Path uplink = data.resolve("uplink");
        FileOutbox outbox = new FileOutbox(uplink.resolve("outbox"), uplink.resolve("mailboxes").resolve("postmaster"),
                Clock.systemUTC(), FileOutbox.Retry.DEFAULT);
        // queueing forces every file: a few threads keep the disk busy instead of waiting for it one at a time
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> queued = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] m = message(i, "sink@example.net");
            queued.add(pool.submit(() -> outbox.queue(null, List.of(), new ByteArrayInputStream(m))));
        }
        for (Future<?> f : queued) {
            f.get();
        }
        pool.shutdown();
        Path fresh = Files.createDirectories(maildir.resolve("new"));
        Files.createDirectories(maildir.resolve("cur"));
        Files.createDirectories(maildir.resolve("tmp"));
        DeliveredNames names = new DeliveredNames(n);
        for (int i = 0; i < n; i++) {
            Files.write(fresh.resolve(names.next(i)), message(i, "bench@example.net"));
        }
        System.out.printf("queued %d messages in %s, %d messages in %s%n", outbox.size(), outbox.root(), n, maildir);
    }

    private static byte[] message(int i, String to) {
        StringBuilder b = new StringBuilder();
        b.append("From: bench@example.org\r\nTo: ").append(to).append("\r\nSubject: heap ").append(i)
                .append("\r\nMessage-ID: <heap-").append(i).append("@example.org>\r\n\r\n");
        while (b.length() < 4096 - 80) {
            b.append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
