package io.uplink.mail.internal.collect;

import static org.awaitility.Awaitility.await;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import io.uplink.testsupport.FakeConnections;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;

/**
 * Live delivery latency (run by {@code bench/idle-latency-benchmark.sh}, not a test): a collector with
 * {@code idle = true} idles on a Dovecot on loopback; another client APPENDs one message at a time, and the
 * time from just before the APPEND is sent to the message's file appearing in the Maildir's {@code new/}
 * (inotify through the JDK's WatchService, so no polling delay) is recorded. The collector runs as a firing
 * would (every file and folder forced, the ledger forced, the message deleted on the server).
 * Arguments: run directory, messages, IMAP port, user.
 */
public final class IdleLatencyBenchmark {

    private IdleLatencyBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int port = Integer.parseInt(args[2]);
        String user = args[3];
        int warm = 5;

        Map<String, Object> p = new LinkedHashMap<>();
        p.put("service.pid", "io.uplink.collector~bench");
        p.put("felix.fileinstall.filename", "file:" + dir.resolve("io.uplink.collector-bench.cfg"));
        p.put("connections", "office");
        p.put("protocol", "imap");
        p.put("host", "127.0.0.1");
        p.put("port", String.valueOf(port));
        p.put("security", "none");
        p.put("username", user);
        p.put("password", "bench");
        p.put("deliverTo", "bench");
        p.put("idle", "true");
        IdleTest.Schedule schedule = new IdleTest.Schedule();
        MailCollectorComponent collector = new MailCollectorComponent(dir.resolve("out"), new FakeConnections().add("office"),
                schedule, IdleSession.CHECK_EVERY, p);
        IdleSession idle = collector.idleSession();
        Path incoming = dir.resolve("out").resolve("mailboxes").resolve("bench").resolve("new");
        Files.createDirectories(incoming);
        await("the collector starts idling").atMost(60, TimeUnit.SECONDS).pollInterval(20, TimeUnit.MILLISECONDS)
                .until(() -> idle.state().startsWith("idling"));

        List<Long> micros = new ArrayList<>();
        List<Long> serverMicros = new ArrayList<>();
        List<Long> uplinkMicros = new ArrayList<>();
        Session session = Session.getInstance(new Properties());
        try (Store store = session.getStore("imap"); WatchService watch = FileSystems.getDefault().newWatchService()) {
            store.connect("127.0.0.1", port, user, "bench");
            Folder inbox = store.getFolder("INBOX");
            incoming.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
            for (int i = 0; i < warm + n; i++) {
                Message m = Fixture.mime(Fixture.message("bob@example.net", user + "@example.test", "latency " + i,
                        "x".repeat(4000)));
                long t0 = System.nanoTime();
                inbox.appendMessages(new Message[] {m});
                WatchKey key = watch.poll(30, TimeUnit.SECONDS);
                if (key == null) {
                    throw new IllegalStateException("message " + i + " was not collected within 30 s: " + idle.state());
                }
                long t1 = System.nanoTime();
                key.pollEvents();
                key.reset();
                if (i >= warm) {
                    long exists = idle.lastExists();
                    micros.add((t1 - t0) / 1000);
                    // the server's share (APPEND sent -> EXISTS read) and Uplink's (EXISTS -> file in new/)
                    if (exists - t0 > 0) {
                        serverMicros.add((exists - t0) / 1000);
                        uplinkMicros.add((t1 - exists) / 1000);
                    }
                }
                // the collection ends after the file (ledger, deletion): let it finish before the next message
                await("the collector idles again").atMost(30, TimeUnit.SECONDS).pollInterval(1, TimeUnit.MILLISECONDS)
                        .until(() -> idle.state().startsWith("idling"));
            }
        }
        collector.deactivate();
        idle.awaitEnd(Duration.ofSeconds(10));

        long files;
        try (var s = Files.list(incoming)) {
            files = s.count();
        }
        Collections.sort(micros);
        Collections.sort(serverMicros);
        Collections.sort(uplinkMicros);
        System.out.println();
        System.out.println("== IMAP IDLE delivery latency (APPEND sent -> file in Maildir new/) ==");
        System.out.printf(Locale.ROOT, "messages      %d (after %d warm-up), 4 KiB each; files in new/: %d%n", n, warm, files);
        System.out.printf(Locale.ROOT, "median        %.1f ms%n", at(micros, 0.50) / 1000.0);
        System.out.printf(Locale.ROOT, "p95           %.1f ms%n", at(micros, 0.95) / 1000.0);
        System.out.printf(Locale.ROOT, "max           %.1f ms%n", micros.get(micros.size() - 1) / 1000.0);
        if (!serverMicros.isEmpty()) {
            System.out.printf(Locale.ROOT, "of which: APPEND sent -> EXISTS on the IDLE session  median %.1f ms, p95 %.1f ms%n",
                    at(serverMicros, 0.5) / 1000.0, at(serverMicros, 0.95) / 1000.0);
            System.out.printf(Locale.ROOT, "          EXISTS -> file in new/ (Uplink)            median %.1f ms, p95 %.1f ms%n",
                    at(uplinkMicros, 0.5) / 1000.0, at(uplinkMicros, 0.95) / 1000.0);
        }
        System.out.printf(Locale.ROOT, "target        max <= 2000 ms: %s%n",
                micros.get(micros.size() - 1) <= 2_000_000 ? "met" : "NOT met");
        System.exit(files == warm + n ? 0 : 1);
    }

    private static long at(List<Long> sorted, double q) {
        int i = (int) Math.ceil(q * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }
}
