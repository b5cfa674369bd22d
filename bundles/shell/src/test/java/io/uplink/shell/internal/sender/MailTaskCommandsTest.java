package io.uplink.shell.internal.sender;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskState;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.shell.internal.Console;
import io.uplink.testsupport.FakeConnections;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.Rule;
import org.junit.Test;

/** sender:list and sender:status (collector:* share their layout through MailTaskView). */
public class MailTaskCommandsTest {

    @Rule
    public Console console = new Console();

    static final MailTaskStatus BROKEN = new MailTaskStatus("sender", "smarthost", MailTaskState.ERROR,
            "io.uplink.sender-smarthost.cfg",
            "sender 'smarthost' (io.uplink.sender-smarthost.cfg), key 'security': must be one of none, tls, starttls, "
                    + "starttls-if-available, got 'nonee'",
            List.of(), "", List.of(), null, "", "", Map.of("security", "nonee", "password", "********", "hosts", "a"));
    static final MailTaskStatus DEMO = new MailTaskStatus("sender", "demo", MailTaskState.READY, "io.uplink.sender-demo.cfg",
            "", List.of("unknown key 'smallerFrist' in io.uplink.sender-demo.cfg; did you mean 'smallerFirst'?"),
            "smtp://127.0.0.1:3025 (none)", List.of(), Instant.parse("2026-03-01T08:00:00Z"), "2 sent", "", Map.of());

    static MailTaskService tasks(MailTaskStatus... senders) {
        List<MailTaskStatus> all = new ArrayList<>(List.of(senders));
        return new MailTaskService() {
            @Override
            public List<MailTaskStatus> senders() {
                return all;
            }

            @Override
            public Optional<MailTaskStatus> sender(String id) {
                return all.stream().filter(s -> s.id().equals(id)).findFirst();
            }

            @Override
            public List<MailTaskStatus> collectors() {
                return List.of();
            }

            @Override
            public Optional<MailTaskStatus> collector(String id) {
                return Optional.empty();
            }
        };
    }

    @Test
    public void listShowsStateErrorAndLinkedConnections() throws Exception {
        FakeConnections connections = new FakeConnections();
        connections.statuses.put("office", new io.uplink.api.ConnectionStatus("office", "Office", "network", true, 0,
                io.uplink.api.ConnectionState.IDLE, "", "f", "smarthost", List.of(), "", null, null, List.of(), Map.of()));
        ListCommand list = new ListCommand();
        list.tasks = tasks(DEMO, BROKEN);
        list.connections = connections;

        list.execute();

        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Id\\s+\\| State\\s+\\| Server\\s+\\| Connections\\s+\\| Last run\\s+\\| Last result / error\\s*"));
        String broken = lines.stream().filter(l -> l.startsWith("smarthost")).findFirst().orElseThrow();
        assertTrue(broken, broken.matches("smarthost\\s+\\| ERROR\\s+\\| -\\s+\\| office\\s+\\| -\\s+\\| sender 'smarthost'.*"));
        String demo = lines.stream().filter(l -> l.startsWith("demo")).findFirst().orElseThrow();
        assertTrue(demo, demo.matches("demo\\s+\\| READY\\s+\\| smtp://127.0.0.1:3025 \\(none\\)\\s+\\| -\\s+\\| .+\\| 2 sent; unknown key.*"));
    }

    @Test
    public void statusPrintsKeyValueLinesWithPasswordsMasked() throws Exception {
        StatusCommand status = new StatusCommand();
        status.tasks = tasks(BROKEN);
        status.connections = new FakeConnections();
        status.id = "smarthost";

        status.execute();

        List<String> lines = console.lines();
        assertEquals("id: smarthost", lines.get(0));
        assertEquals("state: ERROR", lines.get(1));
        assertEquals("error: " + BROKEN.error(), lines.get(2));
        assertTrue(lines.contains("file: io.uplink.sender-smarthost.cfg"));
        assertTrue(lines.contains("lastRun: -"));
        assertTrue(lines.contains("setting.password: ********"));
        assertFalse(console.text().contains("hunter"));
    }

    @Test
    public void anUnknownIdOrNoMailBundleIsAPlainError() {
        StatusCommand status = new StatusCommand();
        status.tasks = tasks(BROKEN);
        status.id = "nosuch";
        assertEquals("sender 'nosuch' is not configured",
                assertThrows(IllegalArgumentException.class, status::execute).getMessage());
        ListCommand list = new ListCommand();
        assertEquals("the mail bundle is not installed (no Mail Senders or Collectors)",
                assertThrows(IllegalStateException.class, list::execute).getMessage());
    }

    @Test
    public void completionOffersTheSenderIds() {
        SenderIdCompleter c = new SenderIdCompleter();
        c.tasks = tasks(DEMO, BROKEN);
        List<String> candidates = new ArrayList<>();
        c.complete(null, new io.uplink.shell.internal.TestCommandLine("sm"), candidates);
        assertTrue(candidates.toString(), candidates.stream().anyMatch(s -> s.startsWith("smarthost")));
        assertFalse(candidates.toString(), candidates.stream().anyMatch(s -> s.startsWith("demo")));
    }
}
