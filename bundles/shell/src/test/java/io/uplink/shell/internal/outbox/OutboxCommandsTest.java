package io.uplink.shell.internal.outbox;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.QueuedMessage;
import io.uplink.shell.internal.Console;
import io.uplink.testsupport.MemoryOutbox;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import org.apache.karaf.shell.support.CommandException;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class OutboxCommandsTest {

    @Rule
    public Console console = new Console();

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private final MemoryOutbox outbox = new MemoryOutbox();

    @Test
    public void listShowsTheQueue() throws Exception {
        outbox.put(new QueuedMessage("m1", "alice@example.net", List.of("bob@example.org", "carol@example.org"), 4096,
                Instant.parse("2026-03-01T08:00:00Z"), 2, null, "421 try later", false), "Subject: x\r\n\r\nbody");
        ListCommand list = new ListCommand();
        list.outbox = outbox;

        list.execute();

        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Id\\s+\\| From\\s+\\| Recipients\\s+\\|\\s+Size \\| Attempts \\| Next try\\s+\\| Last error\\s*"));
        assertTrue(lines.get(2), lines.get(2).matches(
                "m1 \\| alice@example.net \\| bob@example.org, carol@example.org \\| 4.0 KiB \\|\\s+2 \\| next firing \\| 421 try later"));
    }

    @Test
    public void showPrintsTheEntryThenOnlyTheHeaders() throws Exception {
        outbox.put(new QueuedMessage("m1", "alice@example.net", List.of("bob@example.org"), 60, Instant.parse("2026-03-01T08:00:00Z"),
                0, null, null, true), "From: alice@example.net\r\nTo: bob@example.org\r\nSubject: hello\r\n  folded\r\n\r\nthe body\r\n");
        ShowCommand show = new ShowCommand();
        show.outbox = outbox;
        show.id = "m1";

        show.execute();

        String text = console.text();
        assertTrue(text, text.startsWith("id: m1\nfrom: alice@example.net\nrecipients: bob@example.org\nsize: 60 (60 B)\n"));
        assertTrue(text, text.contains("priority: true\n\nFrom: alice@example.net\nTo: bob@example.org\nSubject: hello\n  folded\n"));
        assertFalse("the body is not shown", text.contains("the body"));
    }

    @Test
    public void showStopsAtAHugeHeaderBlock() throws Exception {
        StringBuilder headers = new StringBuilder();
        while (headers.length() < ShowCommand.MAX_HEADER_CHARS + 100) {
            headers.append("X-Filler: ").append("y".repeat(70)).append("\n");
        }
        outbox.put(new QueuedMessage("m1", "a@b", List.of("c@d"), headers.length(), Instant.now(), 0, null, null, false),
                headers.toString());
        ShowCommand show = new ShowCommand();
        show.outbox = outbox;
        show.id = "m1";

        show.execute();

        assertTrue(console.text().contains("the rest is not shown"));
        assertTrue(console.text().length() < ShowCommand.MAX_HEADER_CHARS + 1000);
    }

    @Test
    public void retryTakesAnIdOrAllButNotBoth() throws Exception {
        outbox.put(new QueuedMessage("m1", "a@b", List.of("c@d"), 10, Instant.now(), 1, Instant.now().plusSeconds(600), "421", false), "x");
        RetryCommand retry = new RetryCommand();
        retry.outbox = outbox;

        assertEquals("name one message id, or use --all", assertThrows(CommandException.class, retry::execute).getMessage());
        retry.id = "m1";
        retry.all = true;
        assertThrows(CommandException.class, retry::execute);

        retry.all = false;
        retry.execute();
        assertEquals(List.of("m1"), outbox.retried());
        assertTrue(console.text().contains("message 'm1' is due at the next firing"));

        retry.id = "m9";
        assertEquals("no message 'm9' in the outbox", assertThrows(CommandException.class, retry::execute).getMessage());

        retry.id = null;
        retry.all = true;
        retry.execute();
        assertTrue(console.text().contains("1 message(s) due at the next firing"));
    }

    @Test
    public void deleteRemovesOrSaysThereIsNoSuchMessage() throws Exception {
        outbox.put(new QueuedMessage("m1", "a@b", List.of("c@d"), 10, Instant.now(), 0, null, null, false), "x");
        DeleteCommand delete = new DeleteCommand();
        delete.outbox = outbox;
        delete.id = "m1";

        delete.execute();
        assertEquals(0, outbox.size());

        assertEquals("no message 'm1' in the outbox", assertThrows(CommandException.class, delete::execute).getMessage());
    }

    @Test
    public void queueHandsTheFileAndEnvelopeToTheOutbox() throws Exception {
        byte[] message = "From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\n\u00e9t\u00e9\r\n".getBytes(StandardCharsets.UTF_8);
        Path file = folder.newFile("hi.eml").toPath();
        Files.write(file, message);
        QueueCommand queue = new QueueCommand();
        queue.outbox = outbox;
        queue.file = file.toString();
        queue.from = "a@b";
        queue.to = List.of("c@d", "e@f");

        queue.execute();

        assertArrayEquals(message, outbox.raw("q1"));
        assertEquals(List.of("c@d", "e@f"), outbox.get("q1").get().pending());
        assertTrue(console.text(), console.text().startsWith("queued q1 from a@b to c@d, e@f"));
    }

    @Test
    public void queueWithoutEnvelopeLeavesItToTheHeaders() throws Exception {
        Path file = folder.newFile("hi.eml").toPath();
        Files.writeString(file, "From: a@b\r\nTo: c@d\r\n\r\nx\r\n");
        QueueCommand queue = new QueueCommand();
        queue.outbox = outbox;
        queue.file = file.toString();

        queue.execute();

        assertNull(outbox.lastFrom());
        assertEquals(List.of(), outbox.lastRecipients());
    }

    @Test
    public void queueOfAMissingFileNamesIt() {
        QueueCommand queue = new QueueCommand();
        queue.outbox = outbox;
        queue.file = folder.getRoot().toPath().resolve("nosuch.eml").toString();

        Exception e = assertThrows(CommandException.class, queue::execute);

        assertTrue(e.getMessage(), e.getMessage().startsWith("no such file: ") && e.getMessage().endsWith("nosuch.eml"));
    }

    @Test
    public void everyOutboxCommandSaysWhenTheMailBundleIsMissing() {
        ListCommand list = new ListCommand();
        ShowCommand show = new ShowCommand();
        show.id = "m1";
        RetryCommand retry = new RetryCommand();
        retry.all = true;
        DeleteCommand delete = new DeleteCommand();
        delete.id = "m1";
        QueueCommand queue = new QueueCommand();
        queue.file = "x.eml";
        for (org.junit.function.ThrowingRunnable r : List.<org.junit.function.ThrowingRunnable>of(
                list::execute, show::execute, retry::execute, delete::execute, queue::execute)) {
            assertEquals("the mail bundle is not installed (no outbox)",
                    assertThrows(CommandException.class, r).getMessage());
        }
    }

}
