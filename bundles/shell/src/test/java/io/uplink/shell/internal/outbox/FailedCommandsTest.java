package io.uplink.shell.internal.outbox;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.FailedMail;
import io.uplink.api.mail.FailedMessage;
import io.uplink.shell.internal.Console;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.karaf.shell.support.CommandException;
import org.junit.Rule;
import org.junit.Test;

/** outbox:failed, outbox:requeue and outbox:purge. */
public class FailedCommandsTest {

    @Rule
    public Console console = new Console();

    private final Folder folder = new Folder();

    /** The failed folder in memory: what the commands ask and what they did. */
    private static final class Folder implements FailedMail {
        final Map<String, FailedMessage> messages = new LinkedHashMap<>();
        final List<Duration> purged = new ArrayList<>();

        @Override
        public List<FailedMessage> failed() {
            return new ArrayList<>(messages.values());
        }

        @Override
        public Optional<FailedMessage> failed(String id) {
            return Optional.ofNullable(messages.get(id));
        }

        @Override
        public Optional<String> requeue(String id) {
            return messages.remove(id) == null ? Optional.empty() : Optional.of(id + "-again");
        }

        @Override
        public int requeueAll() {
            int n = messages.size();
            messages.clear();
            return n;
        }

        @Override
        public boolean deleteFailed(String id) {
            return messages.remove(id) != null;
        }

        @Override
        public int purgeFailed(Duration olderThan) {
            purged.add(olderThan);
            return 3;
        }
    }

    private void put(String id) {
        Map<String, String> why = new LinkedHashMap<>();
        why.put("gone@example.net", "550 5.1.1 no such user");
        folder.messages.put(id, new FailedMessage(id, "", why, 2048, Instant.parse("2026-03-01T08:00:00Z"),
                Instant.parse("2026-03-02T08:00:00Z")));
    }

    @Test
    public void failedListsReasonsAndShowsAnEmptySenderAsAngleBrackets() throws Exception {
        put("f1");
        FailedCommand cmd = new FailedCommand();
        cmd.failedMail = folder;
        cmd.execute();
        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).startsWith("Id"));
        assertTrue(lines.get(2), lines.get(2).matches("f1 \\| <>\\s+\\| gone@example.net: 550 5.1.1 no such user \\|\\s+2.0 KiB \\| .*"));
    }

    @Test
    public void requeueNamesTheNewIdAndRefusesAnUnknownOne() throws Exception {
        put("f1");
        put("f2");
        RequeueCommand cmd = new RequeueCommand();
        cmd.failedMail = folder;
        cmd.id = "f1";
        cmd.execute();
        assertTrue(console.text(), console.text().contains("back in the queue as 'f1-again'"));
        cmd.id = "nope";
        Exception e = assertThrows(CommandException.class, cmd::execute);
        assertTrue(e.getMessage(), e.getMessage().contains("no message 'nope' in the failed folder"));
        RequeueCommand all = new RequeueCommand();
        all.failedMail = folder;
        all.all = true;
        all.execute();
        assertTrue(console.text(), console.text().contains("1 message(s) back in the queue"));
        RequeueCommand both = new RequeueCommand();
        both.failedMail = folder;
        assertThrows(CommandException.class, both::execute);
    }

    @Test
    public void purgeTakesTheAgeAndRefusesNonsense() throws Exception {
        PurgeCommand cmd = new PurgeCommand();
        cmd.failedMail = folder;
        cmd.failed = true;
        cmd.olderThan = "30d";
        cmd.execute();
        assertEquals(List.of(Duration.ofDays(30)), folder.purged);
        assertTrue(console.text(), console.text().contains("3 failed message(s) removed"));
        cmd.olderThan = "soon";
        Exception e = assertThrows(CommandException.class, cmd::execute);
        assertTrue(e.getMessage(), e.getMessage().contains("--older-than must be a duration"));
    }

    @Test
    public void withoutTheMailBundleTheCommandsSaySo() {
        FailedCommand cmd = new FailedCommand();
        Exception e = assertThrows(CommandException.class, cmd::execute);
        assertTrue(e.getMessage(), e.getMessage().contains("mail bundle is not installed"));
    }
}
