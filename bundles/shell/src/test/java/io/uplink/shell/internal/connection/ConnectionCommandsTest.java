package io.uplink.shell.internal.connection;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.MethodInfo;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.Progress;
import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.Console;
import io.uplink.shell.internal.Format;
import io.uplink.testsupport.FakeConnections;
import io.uplink.testsupport.MemoryOutbox;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.karaf.shell.support.CommandException;
import org.junit.Rule;
import org.junit.Test;

public class ConnectionCommandsTest {

    @Rule
    public Console console = new Console();

    private final FakeConnections connections = new FakeConnections();

    @Test
    public void listShowsOneRowPerConnectionUnderTheHeader() throws Exception {
        connections.add("modem");
        connections.statuses.put("office", new ConnectionStatus("office", "Office router", "network", true, 0,
                ConnectionState.IDLE, "", "io.uplink.connection-office.cfg", "smarthost", List.of(), "modem", null,
                FakeConnections.result("f7", "office", Outcome.PARTIAL, 1500, "sent 1, collected 0", null),
                List.of(), Map.of()));
        ListCommand list = new ListCommand();
        list.connections = connections;

        list.execute();

        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Id\\s+\\| Name\\s+\\| Method\\s+\\| Default \\| State\\s+\\| Last result\\s+\\| Last fired\\s+\\| Problems\\s*"));
        String office = lines.stream().filter(l -> l.startsWith("office")).findFirst().orElseThrow();
        assertTrue(office, office.matches("office\\s+\\| Office router\\s+\\| network\\s+\\| yes\\s+\\| IDLE\\s+\\| PARTIAL 1.5s sent 1, collected 0\\s+\\| "
                + Format.time(FakeConnections.T0) + "\\s+\\| -"));
        assertTrue(lines.stream().anyMatch(l -> l.matches("modem\\s+\\| modem name\\s+\\| network\\s+\\| no\\s+\\| IDLE\\s+\\| -\\s+\\| -\\s+\\| -")));
        assertFalse("no paused line without a schedule", console.text().contains("paused"));
    }

    @Test
    public void inAClusterListHistoryAndStatusShowTheNodeOfEachFiring() throws Exception {
        io.uplink.api.FiringResult ranOnB = FakeConnections.result("c7", "office", Outcome.OK, 1500, "sent 1, collected 0", null)
                .withNode("node-b");
        connections.statuses.put("office", new ConnectionStatus("office", "Office router", "network", true, 0,
                ConnectionState.IDLE, "", "io.uplink.connection-office.cfg", "smarthost", List.of(), "", null, ranOnB,
                List.of(), Map.of(), "node-b"));
        connections.statuses.put("modem", new ConnectionStatus("modem", "Modem", "dialup", false, 0,
                ConnectionState.REMOTE, "firing c8 on node 'node-a' since 2026-03-01T08:00:00Z",
                "io.uplink.connection-modem.cfg", "", List.of(), "", null, null, List.of(), Map.of(), "node-a"));
        connections.history.add(ranOnB);
        ListCommand list = new ListCommand();
        list.connections = connections;
        list.execute();
        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Id\\s+\\| Name\\s+\\| Method\\s+\\| Default \\| State\\s+\\| Node\\s+\\| Last result.*"));
        assertTrue(lines.stream().anyMatch(l -> l.matches("office\\s+\\|.*\\| IDLE\\s+\\| node-b\\s+\\| OK 1.5s.*")));
        assertTrue(lines.stream().anyMatch(l -> l.matches("modem\\s+\\|.*\\| REMOTE\\s+\\| node-a\\s+\\|.*")));

        console.reset();
        HistoryCommand history = new HistoryCommand();
        history.connections = connections;
        history.execute();
        lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Firing \\| Connection \\| Node\\s+\\| Cause \\| Started.*"));
        assertTrue(lines.get(2), lines.get(2).matches("c7\\s+\\| office\\s+\\| node-b \\| shell\\s+\\|.*"));

        console.reset();
        StatusCommand status = new StatusCommand();
        status.connections = connections;
        status.id = "office";
        status.execute();
        assertTrue(console.lines().contains("node: node-b"));
    }

    @Test
    public void aFiringOnAnotherNodeIsHungUpThere() {
        connections.statuses.put("modem", new ConnectionStatus("modem", "Modem", "dialup", false, 0,
                ConnectionState.REMOTE, "firing c8 on node 'node-a' since 2026-03-01T08:00:00Z",
                "io.uplink.connection-modem.cfg", "", List.of(), "", null, null, List.of(), Map.of(), "node-a"));
        HangupCommand hangup = new HangupCommand();
        hangup.connections = connections;
        hangup.id = "modem";
        assertEquals("connection 'modem' fires on node 'node-a': run connection:hangup modem on that node",
                assertThrows(CommandException.class, hangup::execute).getMessage());
        assertTrue(connections.hungUp.isEmpty());
    }

    @Test
    public void aSingleNodeShowsNoNode() throws Exception {
        connections.add("office");
        connections.history.add(FakeConnections.result("f1", "office", Outcome.OK, 100, "", null));
        StatusCommand status = new StatusCommand();
        status.connections = connections;
        status.id = "office";
        status.execute();
        HistoryCommand history = new HistoryCommand();
        history.connections = connections;
        history.execute();
        assertFalse(console.text(), console.text().contains("node"));
        assertFalse(console.text(), console.text().contains("Node"));
    }

    @Test
    public void listWrapsALongResultWithoutLosingALetterAtAnyWidth() throws Exception {
        String summary = "collector 'demo' (127.0.0.1:3110): the server refused the login of user 'demo': Read timed out"
                + " and a few more words so that the text wraps twice or more";
        // Karaf's own column wrap lost the letter before a break when a piece filled the column exactly;
        // shifting the text one character at a time puts a break at every position once
        for (int shift = 0; shift < 60; shift++) {
            connections.statuses.clear();
            String text = "x".repeat(shift) + " " + summary;
            connections.statuses.put("office", new ConnectionStatus("office", "Office router", "network", true, 0,
                    ConnectionState.IDLE, "", "io.uplink.connection-office.cfg", null, List.of(), null, null,
                    FakeConnections.result("f7", "office", Outcome.FAILED, 4000, text, null), List.of(), Map.of()));
            ListCommand list = new ListCommand();
            list.connections = connections;
            console.reset();

            list.execute();

            StringBuilder column = new StringBuilder();
            for (String line : console.lines().subList(2, console.lines().size())) {
                String[] cells = line.split("\\|", -1);
                if (cells.length > 5) {
                    column.append(cells[5]).append(' ');
                    assertTrue("at most 60 wide: '" + cells[5] + "'", cells[5].trim().length() <= 60);
                }
            }
            assertEquals("shift " + shift + ": " + console.text(), ("FAILED 4.0s " + text).replaceAll("\\s+", ""),
                    column.toString().replaceAll("\\s+", ""));
        }
    }

    @Test
    public void listShowsTheReasonOfAConnectionInErrorInsteadOfAnOlderResult() throws Exception {
        connections.statuses.put("office", new ConnectionStatus("office", "Office router", "network", false, 0,
                ConnectionState.ERROR, "connection 'office' (io.uplink.connection-office.cfg), key 'order': must be a number",
                "io.uplink.connection-office.cfg", null, List.of(), null, null,
                FakeConnections.result("f7", "office", Outcome.OK, 1500, "sent 1, collected 0", null), List.of(), Map.of()));
        ListCommand list = new ListCommand();
        list.connections = connections;

        list.execute();

        String text = console.text();
        assertTrue(text, text.contains("| ERROR | connection 'office' (io.uplink.connection-office.cfg), key"));
        assertTrue(text, text.contains("| 'order': must be a number"));
        assertFalse("not the result from before the error: " + text, text.contains("sent 1, collected 0"));
    }

    @Test
    public void listShowsASenderOrCollectorInErrorAndMisspeltKeysInShort() throws Exception {
        connections.statuses.put("office", new ConnectionStatus("office", "Office router", "network", true, 0,
                ConnectionState.IDLE, "", "io.uplink.connection-office.cfg", "smarthost", List.of("alice"), "", null, null,
                List.of("sender 'smarthost' is in ERROR: sender 'smarthost' (io.uplink.sender-smarthost.cfg), key 'security': must be one of none, tls, starttls, starttls-if-available, got 'nonee'",
                    "unknown key 'sendr' in io.uplink.connection-office.cfg; did you mean 'sender'?"),
                Map.of()));
        ListCommand list = new ListCommand();
        list.connections = connections;

        list.execute();

        String text = console.text();
        assertTrue(text, text.contains("sender 'smarthost' is in ERROR,"));
        assertTrue(text, text.contains("unknown key") && text.contains("'sendr'; did you mean 'sender'?"));
        assertFalse("the whole text is for connection:status", text.contains("nonee"));
    }

    @Test
    public void listSaysWhenTheScheduleIsPaused() throws Exception {
        ListCommand list = new ListCommand();
        list.connections = connections;
        list.schedule = schedule(true);

        list.execute();

        assertTrue(console.lines().get(0).startsWith("The schedule is paused"));
        assertTrue(console.text().contains("No connection is configured"));
    }

    @Test
    public void statusPrintsOneKeyValueLineEachWithSettingsLast() throws Exception {
        connections.statuses.put("modem", new ConnectionStatus("modem", "Backup modem", "dialup", false, 2,
                ConnectionState.SENDING, "", "io.uplink.connection-modem.cfg", "smarthost", List.of("alice", "bob"), "",
                new Progress("f9", Phase.SEND, "sending 3 of 10", 3, 10), null,
                List.of("sender 'smarthost' is not configured"),
                Map.of("dialup.port", "/dev/ttyUSB0", "dialup.password", "********", "method", "dialup")));
        StatusCommand status = new StatusCommand();
        status.connections = connections;
        status.id = "modem";
        status.outbox = new MemoryOutbox().setSize(4);
        status.schedule = schedule(false);

        status.execute();

        assertEquals(List.of(
                "id: modem",
                "name: Backup modem",
                "method: dialup",
                "default: false",
                "order: 2",
                "state: SENDING",
                "reason: -",
                "file: io.uplink.connection-modem.cfg",
                "sender: smarthost",
                "collectors: alice, bob",
                "fallback: -",
                "problems: sender 'smarthost' is not configured",
                "lastResult: -",
                "lastFired: -",
                "progress: SEND sending 3 of 10 (3/10)",
                "outbox: 4",
                "nextFiring: " + Format.time(NEXT),
                "setting.dialup.password: ********",
                "setting.dialup.port: /dev/ttyUSB0",
                "setting.method: dialup"), console.lines());
    }

    @Test
    public void statusLeavesOutOptionalLinesWithoutTheirServices() throws Exception {
        connections.add("office");
        StatusCommand status = new StatusCommand();
        status.connections = connections;
        status.id = "office";

        status.execute();

        assertFalse(console.text().contains("outbox:"));
        assertFalse(console.text().contains("nextFiring:"));
        assertFalse(console.text().contains("progress:"));
    }

    @Test
    public void unknownIdsGiveTheSameClearError() {
        StatusCommand status = new StatusCommand();
        status.connections = connections;
        status.id = "nosuch";
        HangupCommand hangup = new HangupCommand();
        hangup.connections = connections;
        hangup.id = "nosuch";
        HistoryCommand history = new HistoryCommand();
        history.connections = connections;
        history.id = "nosuch";

        for (org.junit.function.ThrowingRunnable r : List.<org.junit.function.ThrowingRunnable>of(
                status::execute, hangup::execute, history::execute)) {
            assertEquals("connection 'nosuch' is not configured", assertThrows(CommandException.class, r).getMessage());
        }
        assertTrue(connections.hungUp.isEmpty());
    }

    @Test
    public void historyListsFiringsNewestFirstUpToTheLimit() throws Exception {
        connections.add("office");
        connections.history.add(FakeConnections.result("f3", "office", Outcome.OK, 1200, "sent 2, collected 0", null));
        connections.history.add(FakeConnections.result("f2", "office", Outcome.FAILED, 100, "probe failed", null));
        connections.history.add(FakeConnections.result("f1", "office", Outcome.OK, 100, "", null));
        HistoryCommand history = new HistoryCommand();
        history.connections = connections;
        history.id = "office";
        history.limit = 2;

        history.execute();

        List<String> lines = console.lines();
        assertTrue(lines.get(0), lines.get(0).matches("Firing \\| Connection \\| Cause \\| Started\\s+\\| Seconds \\| Result \\| Summary\\s*"));
        assertTrue(lines.get(2), lines.get(2).matches("f3\\s+\\| office\\s+\\| shell\\s+\\| .+\\|\\s+1.2 \\| OK\\s+\\| sent 2, collected 0"));
        assertTrue(lines.get(3), lines.get(3).matches("f2 .*\\| FAILED \\| probe failed"));
        assertEquals(4, lines.size());
    }

    @Test
    public void aLongSummaryWrapsInsteadOfBeingCut() throws Exception {
        String summary = "connect: network probe 192.168.100.254:25 failed: Connection refused; fell back to 'modem-backup-line'";
        connections.history.add(FakeConnections.result("f1", "office", Outcome.FAILED, 100, summary, null));
        HistoryCommand history = new HistoryCommand();
        history.connections = connections;

        history.execute();

        String joined = String.join(" ", console.lines().stream().skip(2)
                .map(l -> l.substring(l.lastIndexOf('|') + 1).trim()).toList());
        assertEquals(summary, joined);
    }

    @Test
    public void methodsAreListedWithTheirBundle() throws Exception {
        connections.methods.add(new MethodInfo("network", "io.uplink.method.network", "0.1.0", "the network is always there"));
        MethodsCommand methods = new MethodsCommand();
        methods.connections = connections;

        methods.execute();

        assertTrue(console.lines().get(0).matches("Method\\s+\\| Bundle\\s+\\| Version \\| Description\\s*"));
        assertTrue(console.lines().get(2).matches("network \\| io.uplink.method.network \\| 0.1.0\\s+\\| the network is always there"));
    }

    @Test
    public void hangupSaysWhatItDid() throws Exception {
        connections.add("office");
        HangupCommand hangup = new HangupCommand();
        hangup.connections = connections;
        hangup.id = "office";

        hangup.execute();

        assertEquals(List.of("office"), connections.hungUp);
        assertEquals(List.of("connection 'office': hanging up"), console.lines());
    }

    static final Instant NEXT = Instant.parse("2026-03-01T09:15:00Z");

    static ScheduleService schedule(boolean paused) {
        return new ScheduleService() {
            @Override
            public List<ScheduleItemStatus> items() {
                return List.of();
            }

            @Override
            public void pause() {
            }

            @Override
            public void resume() {
            }

            @Override
            public boolean isPaused() {
                return paused;
            }

            @Override
            public List<ForecastEntry> next(int count) {
                return List.of();
            }

            @Override
            public Optional<Instant> nextFiring(String connectionId) {
                return Optional.of(NEXT);
            }
        };
    }
}
