package io.uplink.shell.internal.connection;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.shell.internal.Console;
import io.uplink.testsupport.FakeConnections;
import io.uplink.testsupport.MovableClock;

import java.util.List;

import org.apache.karaf.shell.support.CommandException;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;

public class FireCommandTest {

    @Rule
    public Console console = new Console();

    private final FakeConnections connections = new FakeConnections();
    private final FireCommand fire = new FireCommand();

    @Before
    public void setUp() {
        connections.add("office");
        connections.add("modem");
        fire.connections = connections;
    }

    @Test
    public void withoutWaitPrintsTheFiringIdsAndReturnsAtOnce() throws Exception {
        FakeConnections.ScriptedFiring f = connections.script("office",
                FakeConnections.result("f1", "office", Outcome.FAILED, 1000, "no route", null)).forever();
        fire.ids = List.of("office");

        fire.execute();

        assertEquals(List.of("fired office as f1"), console.lines());
        assertEquals("the command never waited", 0, f.awaits);
        assertEquals(List.of("office shell"), connections.fired);
    }

    @Test
    public void waitEndsWithTheResultLineAndSucceedsWhenOk() throws Exception {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.OK, 2300, "sent 1, collected 2", null));
        fire.ids = List.of("office");
        fire.await = true;

        fire.execute();

        assertEquals(List.of("fired office as f1", "office OK 2.3s sent 1, collected 2"), console.lines());
    }

    @Test
    public void partialIsNotAFailure() throws Exception {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.PARTIAL, 500,
                "sent 1, collected 0; collector 'alice': login refused", null));
        fire.ids = List.of("office");
        fire.await = true;

        fire.execute();

        assertTrue(console.text().contains("office PARTIAL 0.5s sent 1, collected 0; collector 'alice': login refused"));
    }

    @Test
    public void aFailedFiringPrintsItsLineThenFailsTheCommand() {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.FAILED, 100,
                "network probe 10.0.0.1:25 failed: Connection refused", null));
        fire.ids = List.of("office");
        fire.await = true;

        Exception e = assertThrows(CommandException.class, fire::execute);

        assertEquals("the firing of connection 'office' FAILED", e.getMessage());
        assertTrue(console.text().contains("office FAILED 0.1s network probe 10.0.0.1:25 failed: Connection refused"));
    }

    @Test
    public void aFallbackThatGetsThroughMakesUpForTheFailedConnection() throws Exception {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.FAILED, 100, "probe failed",
                FakeConnections.result("f2", "modem", Outcome.OK, 40_000, "sent 3, collected 1", null)));
        fire.ids = List.of("office");
        fire.await = true;

        fire.execute();

        assertEquals(List.of("fired office as f1", "office FAILED 0.1s probe failed",
                "modem OK 40.0s sent 3, collected 1 (fallback for office)"), console.lines());
    }

    @Test
    public void aFallbackThatFailsTooFailsTheCommand() {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.FAILED, 100, "probe failed",
                FakeConnections.result("f2", "modem", Outcome.FAILED, 90_000, "BUSY", null)));
        fire.ids = List.of("office");
        fire.await = true;

        assertThrows(CommandException.class, fire::execute);
        assertTrue(console.text().contains("modem FAILED 90.0s BUSY (fallback for office)"));
    }

    @Test
    public void oneFailureAmongSeveralNamesTheFailedConnections() {
        connections.add("office", true).add("modem", true);
        connections.script("office", FakeConnections.result("f1", "office", Outcome.OK, 100, "sent 0, collected 0", null));
        connections.script("modem", FakeConnections.result("f2", "modem", Outcome.FAILED, 100, "NO CARRIER", null));
        fire.defaults = true;
        fire.await = true;

        Exception e = assertThrows(CommandException.class, fire::execute);

        assertEquals("1 of 2 firings FAILED: modem", e.getMessage());
        assertEquals(List.of("defaults shell"), connections.fired);
        assertEquals(List.of("fired office as f1", "fired modem as f2", "office OK 0.1s sent 0, collected 0",
                "modem FAILED 0.1s NO CARRIER"), console.lines());
    }

    @Test
    public void waitShowsEachPhaseChangeOnce() throws Exception {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.OK, 100, "sent 2, collected 0", null))
                .queued()
                .step(Phase.CONNECT, "probing mail:25")
                .step(Phase.CONNECT, "probing mail:25")
                .step(Phase.SEND, "")
                .step(Phase.COLLECT, "alice");
        fire.ids = List.of("office");
        fire.await = true;

        fire.execute();

        assertEquals(List.of("fired office as f1", "office QUEUED waiting for its turn", "office CONNECT probing mail:25",
                "office SEND", "office COLLECT alice", "office OK 0.1s sent 2, collected 0"), console.lines());
    }

    @Test
    public void firingsCoalescedIntoOneRunAreWaitedForOnce() throws Exception {
        connections.add("office", true);
        connections.script("office", FakeConnections.result("f1", "office", Outcome.OK, 100, "sent 0, collected 0", null));
        fire.defaults = true;
        fire.ids = List.of("office");
        fire.await = true;

        fire.execute();

        assertEquals(List.of("fired office as f1", "office OK 0.1s sent 0, collected 0"), console.lines());
    }

    @Test
    public void timeoutStopsWaitingAndFails() {
        MovableClock clock = new MovableClock(FakeConnections.T0);
        FakeConnections.ScriptedFiring f = connections.script("office",
                FakeConnections.result("f1", "office", Outcome.OK, 100, "", null)).forever();
        f.onAwait = () -> clock.advance(fire.poll);
        fire.clock = clock;
        fire.ids = List.of("office");
        fire.await = true;
        fire.timeout = "2s";

        Exception e = assertThrows(CommandException.class, fire::execute);

        assertTrue(e.getMessage(), e.getMessage().startsWith("still firing after 2s: office"));
        assertEquals("gave up after 2 s of 250 ms polls", 8, f.awaits);
    }

    @Test
    public void anUnknownIdFiresNothing() {
        connections.script("office", FakeConnections.result("f1", "office", Outcome.OK, 100, "", null));
        fire.ids = List.of("office", "nosuch");

        Exception e = assertThrows(CommandException.class, fire::execute);

        assertEquals("connection 'nosuch' is not configured", e.getMessage());
        assertTrue(connections.fired.isEmpty());
    }

    @Test
    public void nothingToFireIsAnError() {
        Exception e = assertThrows(CommandException.class, fire::execute);
        assertEquals("name the connections to fire, or use --defaults", e.getMessage());
        assertFalse(console.text().contains("fired"));
    }

    @Test
    public void aBadTimeoutIsRefusedBeforeFiring() {
        fire.ids = List.of("office");
        fire.timeout = "soon";
        Exception e = assertThrows(CommandException.class, fire::execute);
        assertTrue(e.getMessage().contains("'soon'"));
        assertTrue(connections.fired.isEmpty());
    }

    @Test
    public void aTimeoutTooLargeForANumberIsTheSameUserError() {
        fire.ids = List.of("office");
        fire.timeout = "99999999999999999999999";
        Exception e = assertThrows(CommandException.class, fire::execute);
        assertTrue(e.getMessage(), e.getMessage().startsWith("--timeout must be a duration"));
        assertTrue(connections.fired.isEmpty());
    }

}
