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
        // the batch files stay while their messages wait in the queue (they are the durable copy), spares are ready
        assertFalse(batches(o).isEmpty());
        try (Stream<Path> s = Files.list(o.root().resolve("intake"))) {
            assertTrue("spares are ready", s.filter(f -> f.toString().endsWith(".batch")).count() > batches(o).size());
        }
        o.close();
        FileOutbox again = open();
        assertEquals(400, again.size());
        assertIntakeEmpty(again);
    }

    // ------------------------------------------------------------------ what a crash can leave, one test each

    private List<FileOutbox.Prepared> prepared(FileOutbox o, int n) throws Exception {
        List<FileOutbox.Prepared> group = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            group.add(o.prepare(null, List.of(), mail(i)));
        }
        return group;
    }

    private static Path intake(FileOutbox o) throws Exception {
        Path intake = o.root().resolve("intake");
        Files.createDirectories(intake);
        return intake;
    }

    private static void assertQueuedExactly(FileOutbox o, List<FileOutbox.Prepared> expected) throws Exception {
        assertEquals(expected.size(), o.size());
        for (FileOutbox.Prepared p : expected) {
            try (InputStream in = o.open(p.entry().id)) {
                assertArrayEquals(p.body(), in.readAllBytes());
            }
        }
    }

    private static void assertIntakeEmpty(FileOutbox o) throws Exception {
        try (Stream<Path> s = Files.list(o.root().resolve("intake"))) {
            assertEquals("batch files and done-logs are gone after recovery", List.of(), s.toList());
        }
    }

    @Test
    public void aBatchCommittedButNotYetInstalledIsInstalledAtStart() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 3);
        IntakeBatches.write(intake(o).resolve("x.batch"), group);
        Files.write(intake(o).resolve("spare.batch"), new byte[IntakeBatches.SEGMENT]);

        FileOutbox again = open();
        assertQueuedExactly(again, group);
        assertIntakeEmpty(again);
        // and durable now: a second start finds the same, without the batch
        assertQueuedExactly(open(), group);
    }

    @Test
    public void aTornBatchGivesItsCompleteRecordsOnly() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 3);
        Path batch = intake(o).resolve("x.batch");
        IntakeBatches.write(batch, group);
        byte[] all = Files.readAllBytes(batch);
        // the third record's write was never forced: nobody was told it was queued
        Files.write(batch, java.util.Arrays.copyOf(all, all.length - 10));
        Files.write(intake(o).resolve("y.batch"), java.util.Arrays.copyOf(all, 20));

        FileOutbox again = open();
        assertQueuedExactly(again, group.subList(0, 2));
        assertIntakeEmpty(again);
    }

    @Test
    public void aGroupTornOverTheZerosOfABatchFileMadeAheadIsDropped() throws Exception {
        FileOutbox o = open();
        String big = "x".repeat(4000);
        List<FileOutbox.Prepared> group = List.of(
                o.prepare(null, List.of(), ("From: a@example.org\r\nTo: b@example.net\r\n\r\n" + big).getBytes(StandardCharsets.UTF_8)),
                o.prepare(null, List.of(), ("From: a@example.org\r\nTo: c@example.net\r\n\r\n" + big).getBytes(StandardCharsets.UTF_8)));
        byte[] records = IntakeBatches.records(group);
        // the second record's header and length reached the disk, its last bytes did not: zeros where they belong
        byte[] segment = new byte[IntakeBatches.SEGMENT];
        System.arraycopy(records, 0, segment, 0, records.length - 100);
        Files.write(intake(o).resolve("z.batch"), segment);

        FileOutbox again = open();
        assertQueuedExactly(again, group.subList(0, 1));
        assertIntakeEmpty(again);
    }

    @Test
    public void aBatchHalfInstalledWhenTheMachineWentDownIsRepaired() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 4);
        o.install(group.subList(0, 3));
        IntakeBatches.write(intake(o).resolve("x.batch"), group);
        Path queue = o.root().resolve("queue");
        String torn = group.get(1).entry().id;
        String noState = group.get(2).entry().id;
        // what unforced files can look like after a power failure: an empty body, an empty state
        Files.write(queue.resolve(torn + ".eml"), new byte[0]);
        Files.write(queue.resolve(noState + ".state"), new byte[0]);

        FileOutbox again = open();
        assertQueuedExactly(again, group);
        assertIntakeEmpty(again);
    }

    @Test
    public void messagesNamedInTheDoneLogAreNotQueuedAgain() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 3);
        Path batch = intake(o).resolve("x.batch");
        IntakeBatches.write(batch, group);
        Files.writeString(IntakeBatches.doneLog(batch), group.get(0).entry().id + "\n" + group.get(2).entry().id + "\n");

        FileOutbox again = open();
        assertQueuedExactly(again, List.of(group.get(1)));
        assertIntakeEmpty(again);
    }

    @Test
    public void aHalfWrittenDoneLogLineQueuesThatMessageAgain() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 3);
        Path batch = intake(o).resolve("x.batch");
        IntakeBatches.write(batch, group);
        String second = group.get(1).entry().id;
        Files.writeString(IntakeBatches.doneLog(batch), group.get(0).entry().id + "\n" + second.substring(0, 5));

        FileOutbox again = open();
        assertQueuedExactly(again, group.subList(1, 3));
        assertIntakeEmpty(again);
    }

    @Test
    public void aDoneLogWhoseBatchWasAlreadyDeletedIsRemoved() throws Exception {
        FileOutbox o = open();
        Files.writeString(intake(o).resolve("x.done"), "a\nb\n");

        FileOutbox again = open();
        assertEquals(0, again.size());
        assertIntakeEmpty(again);
    }

    @Test
    public void aMessageThatLeftTheQueueBeforeItsLineWasWrittenIsNotQueuedAgain() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 3);
        o.install(group);
        IntakeBatches.write(intake(o).resolve("x.batch"), group);
        Path queue = o.root().resolve("queue");
        // crash right after record() moved a sent message into removed/ and a failed one into failed/
        String sent = group.get(0).entry().id;
        String failed = group.get(1).entry().id;
        Files.move(queue.resolve(sent + ".state"), o.root().resolve("removed").resolve(sent + ".state"));
        Files.move(queue.resolve(sent + ".eml"), o.root().resolve("removed").resolve(sent + ".eml"));
        Files.move(queue.resolve(failed + ".state"), o.failedDir().resolve(failed + ".state"));
        Files.move(queue.resolve(failed + ".eml"), o.failedDir().resolve(failed + ".eml"));

        FileOutbox again = open();
        assertQueuedExactly(again, List.of(group.get(2)));
        assertEquals(1, again.failedFolder().list().size());
        assertIntakeEmpty(again);
    }

    @Test
    public void aStateThatLearntSomethingIsKeptByRecovery() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 1);
        o.install(group);
        o.register(group);
        IntakeBatches.write(intake(o).resolve("x.batch"), group);
        String id = group.get(0).entry().id;
        assertTrue(o.claim(id).isPresent());
        assertEquals(FileOutbox.Result.DEFERRED, o.record(id, java.util.Map.of("b@example.net",
                new FileOutbox.Outcome(FileOutbox.Verdict.SENT, "250 ok")), "mx.test"));

        FileOutbox again = open();
        assertEquals(List.of("hidden@example.net"), again.get(id).orElseThrow().pending());
        assertEquals(1, again.get(id).orElseThrow().attempts());
        assertIntakeEmpty(again);
    }

    @Test
    public void aQueuedFileCutShortWithoutItsBatchIsMovedAsideNotSent() throws Exception {
        FileOutbox o = open();
        List<FileOutbox.Prepared> group = prepared(o, 2);
        o.install(group);
        String torn = group.get(0).entry().id;
        Files.write(o.root().resolve("queue").resolve(torn + ".eml"), new byte[0]);

        FileOutbox again = open();
        assertQueuedExactly(again, List.of(group.get(1)));
        assertTrue(Files.exists(o.root().resolve("tmp").resolve(torn + ".torn.eml")));
    }

    // ------------------------------------------------------------------ while running

    @Test
    public void theBatchFileStaysUntilItsLastMessageLeftTheQueue() throws Exception {
        FileOutbox o = open();
        List<String> ids = new ArrayList<>();
        List<FileOutbox.Prepared> group = prepared(o, 3);
        o.commit(group);
        group.forEach(p -> ids.add(p.entry().id));
        await().atMost(30, TimeUnit.SECONDS).until(() -> o.size() == 3);
        assertEquals(1, batches(o).size());
        Path batch = batches(o).get(0);

        o.recordAll(ids.get(0), FileOutbox.Verdict.SENT, "250 ok", "mx.test", true);
        o.recordAll(ids.get(1), FileOutbox.Verdict.PERMANENT, "550 no", "mx.test", true);
        assertTrue(Files.exists(batch));
        assertEquals(Set.of(ids.get(0), ids.get(1)), IntakeBatches.readDone(IntakeBatches.doneLog(batch)));

        // a crash now (what is on disk, copied as it is): the next start queues only the message still waiting
        Path snapshot = tmp.newFolder("snapshot").toPath();
        try (Stream<Path> all = Files.walk(o.root())) {
            for (Path f : all.toList()) {
                Path to = snapshot.resolve("outbox").resolve(o.root().relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        FileOutbox crashed = new FileOutbox(snapshot.resolve("outbox"), snapshot.resolve("postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
        assertEquals(List.of(ids.get(2)), crashed.list().stream().map(QueuedMessage::id).toList());
        assertEquals(1, crashed.failedFolder().list().size());

        assertTrue(o.delete(ids.get(2)));
        assertTrue("the current batch file takes the next groups", Files.exists(batch));
        o.close();
        assertFalse("sealed with all its messages gone, the batch file goes", Files.exists(batch));
        assertFalse(Files.exists(IntakeBatches.doneLog(batch)));
    }

    /** Batch files holding messages (spares hold only zeros). */
    private static List<Path> batches(FileOutbox o) throws Exception {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(o.root().resolve("intake"))) {
            for (Path f : s.filter(f -> f.toString().endsWith(".batch")).toList()) {
                if (!IntakeBatches.read(o, f).isEmpty()) {
                    out.add(f);
                }
            }
        }
        return out;
    }
}
