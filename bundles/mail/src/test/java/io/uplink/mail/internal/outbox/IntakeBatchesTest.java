package io.uplink.mail.internal.outbox;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.QueuedMessage;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class IntakeBatchesTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private FileOutbox open() throws Exception {
        Path d = tmp.getRoot().toPath();
        return new FileOutbox(d.resolve("outbox"), d.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
    }

    private static byte[] mail(int n) {
        return ("From: a@example.org\r\nTo: b@example.net\r\nBcc: hidden@example.net\r\nSubject: m" + n
                + "\r\n\r\nbody " + n + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    public void concurrentSubmissionsAreAllQueuedOnceWithBccStripped() throws Exception {
        FileOutbox o = open();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        Set<String> ids = ConcurrentHashMap.newKeySet();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 100;
            fs.add(pool.submit(() -> {
                for (int i = 0; i < 100; i++) {
                    ids.add(o.submit(null, List.of(), mail(base + i)).id());
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertEquals(400, ids.size());
        await().atMost(30, TimeUnit.SECONDS).until(() -> o.size() == 400);
        QueuedMessage q = o.list().get(0);
        assertEquals(List.of("b@example.net", "hidden@example.net"), q.pending());
        try (InputStream in = o.open(q.id())) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertFalse(body.contains("Bcc"));
        }
        // the batch files are gone once their messages are in the queue (empty spares wait for the next groups)
        await().atMost(30, TimeUnit.SECONDS).until(() -> batches(o).isEmpty());
        try (Stream<Path> s = Files.list(o.root().resolve("intake"))) {
            assertTrue("spares are ready", s.count() > 0);
        }
        o.close();
        assertEquals(400, open().size());
    }

    @Test
    public void aBatchLeftByACrashIsInstalledAtStartWithoutDuplicates() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            group.add(o.prepare(null, List.of(), mail(i)));
        }
        // crash after the first message reached the queue, before the batch file was deleted
        ExecutorService forcing = Executors.newFixedThreadPool(2);
        o.install(group.subList(0, 1), forcing);
        forcing.shutdown();
        Path intake = o.root().resolve("intake");
        Files.createDirectories(intake);
        IntakeBatches.write(intake.resolve("x.batch"), group);
        // and a torn batch whose write was never forced (no 250 was given for it)
        byte[] torn = Files.readAllBytes(intake.resolve("x.batch"));
        Files.write(intake.resolve("y.batch"), java.util.Arrays.copyOf(torn, 20));

        FileOutbox again = open();
        assertEquals(3, again.size());
        for (FileOutbox.Prepared p : group) {
            try (InputStream in = again.open(p.entry().id)) {
                assertArrayEquals(p.body(), in.readAllBytes());
            }
        }
        assertTrue(batches(again).isEmpty());
    }

    /** Batch files with content (spares are empty). */
    private static List<Path> batches(FileOutbox o) throws Exception {
        try (Stream<Path> s = Files.list(o.root().resolve("intake"))) {
            return s.filter(f -> f.toFile().length() > 0).toList();
        }
    }
}
