package io.uplink.method.dialup.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.Link;
import io.uplink.method.dialup.testing.ScriptedModem;

import java.io.File;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/** The dialup method against the scripted modem on a real pseudo-terminal, opened through jSerialComm. */
public class DialupMethodTest {

    private final TemporaryFolder tmp = new TemporaryFolder(new File("target").getAbsoluteFile());
    private final ModemFixture f = new ModemFixture(tmp);

    @Rule
    public RuleChain chain = RuleChain.outerRule(Timeout.seconds(60)).around(tmp).around(f);

    private static final Duration GUARD = Duration.ofMillis(1100);

    private void assertHungUp() {
        await().atMost(10, TimeUnit.SECONDS).until(() -> !f.modem.isOffHook());
        // the lock goes after ATH0 and the port's close, possibly on the idle timer's thread
        await().atMost(10, TimeUnit.SECONDS).until(() -> !Files.exists(f.lockFile()));
    }

    private ConnectException connectFails(Settings s, ModemFixture.Context ctx) throws InterruptedException {
        try {
            f.method.connect(ctx).close();
            fail("connect should fail");
            return null;
        } catch (ConnectException e) {
            return e;
        }
    }

    @Test
    public void connectsAndHangsUpWithEscapeAndAth0() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        Link link = f.method.connect(ctx);
        assertTrue(link.isUp());
        assertEquals("CONNECT 33600 on " + f.pair.line(), link.describe());
        assertEquals(List.of("ATZ", "AT&F E0 V1 Q0", "ATDT" + ScriptedModem.CONNECTS), f.modem.commands());
        assertTrue(ctx.progress().contains("attempt 1/1: CONNECT 33600"));
        assertTrue("UUCP lock held while connected", Files.exists(f.lockFile()));
        assertEquals(ProcessHandle.current().pid(), UucpLock.owner(f.lockFile()));
        assertTrue(f.modem.isOnline());

        link.close();
        assertHungUp();
        assertEquals(1, f.modem.escapes());
        assertEquals(1, f.modem.hangups());
        assertEquals("guard time before and after +++", 2, f.clock.sleepsOf(GUARD));
        link.close(); // idempotent
        assertEquals(1, f.modem.hangups());
    }

    @Test
    public void busyIsRedialledWithTheIntervalThenFails() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.BUSY, "dialup.retries", "3", "dialup.interval", "45s");
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        ConnectException e = connectFails(s, ctx);
        assertEquals("dialling " + ScriptedModem.BUSY + " on " + f.pair.line()
                + " failed after 4 attempts: BUSY, BUSY, BUSY, BUSY", e.getMessage());
        assertEquals(4, f.modem.dials(ScriptedModem.BUSY));
        assertEquals(List.of(Duration.ofSeconds(45), Duration.ofSeconds(45), Duration.ofSeconds(45)),
                f.clock.sleeps());
        for (int i = 1; i <= 4; i++) {
            assertTrue(ctx.progress().toString(), ctx.progress().contains("attempt " + i + "/4: BUSY"));
        }
        assertHungUp();
        assertEquals("no escape: the modem was never online", 0, f.modem.escapes());
    }

    @Test
    public void busyTwiceThenConnectOnTheThirdAttempt() throws Exception {
        String number = ScriptedModem.busyThenConnect(2);
        Settings s = f.settings("modem", number, "dialup.retries", "3");
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        try (Link link = f.method.connect(ctx)) {
            assertTrue(link.isUp());
            assertEquals(3, f.modem.dials(number));
            assertEquals(2, f.clock.sleepsOf(DialupSettings.DEFAULT_INTERVAL));
            assertEquals(List.of("attempt 1/4: BUSY", "attempt 2/4: BUSY", "attempt 3/4: CONNECT 33600"),
                    ctx.progress().stream().filter(p -> p.startsWith("attempt") && !p.contains("dialling")).toList());
        }
        assertHungUp();
    }

    private void failsWith(String number, String result) throws Exception {
        Settings s = f.settings("modem", number);
        ConnectException e = connectFails(s, new ModemFixture.Context(s));
        assertTrue(e.getMessage(), e.getMessage().endsWith("failed after 1 attempt: " + result));
        assertEquals(1, f.modem.dials(number));
        assertHungUp();
    }

    @Test
    public void noCarrierFails() throws Exception {
        failsWith(ScriptedModem.NO_CARRIER, "NO CARRIER");
    }

    @Test
    public void noDialtoneFails() throws Exception {
        failsWith(ScriptedModem.NO_DIALTONE, "NO DIALTONE");
    }

    @Test
    public void noAnswerFails() throws Exception {
        failsWith(ScriptedModem.NO_ANSWER, "NO ANSWER");
    }

    @Test
    public void errorFails() throws Exception {
        failsWith(ScriptedModem.ERROR, "ERROR");
    }

    @Test
    public void silencePastConnectTimeoutAbortsTheDial() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.SILENT, "dialup.connectTimeout", "90s");
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        CompletableFuture<Link> connect = CompletableFuture.supplyAsync(() -> {
            try {
                return f.method.connect(ctx);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(f.modem.silentDial().await(10, TimeUnit.SECONDS));
        // the dial's start is read from the clock after ATD went out: let the dialler poll a few times first,
        // so that a slow machine cannot take the start after the clock moved
        long dialling = f.clock.reads();
        await().atMost(10, TimeUnit.SECONDS).until(() -> f.clock.reads() >= dialling + 3 || connect.isDone());
        f.clock.advance(Duration.ofSeconds(89));
        // the dialler reads the clock once a poll of the line: some reads on, it has seen 89s and decided
        long seen = f.clock.reads();
        await().atMost(10, TimeUnit.SECONDS).until(() -> f.clock.reads() >= seen + 5 || connect.isDone());
        assertTrue("the dial is not aborted before the timeout", f.modem.isDialling());
        assertFalse("connect has not ended before the timeout", connect.isDone());
        f.clock.advance(Duration.ofSeconds(1));
        try {
            connect.get(10, TimeUnit.SECONDS);
            fail();
        } catch (ExecutionException e) {
            assertTrue(e.getCause().getMessage(),
                    e.getCause().getMessage().endsWith("failed after 1 attempt: no CONNECT within 90s, dial aborted"));
        }
        assertHungUp();
    }

    @Test
    public void interruptedWhileDiallingHangsUp() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.SILENT);
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        Throwable[] thrown = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                f.method.connect(ctx);
            } catch (Throwable e) {
                thrown[0] = e;
            }
        });
        t.start();
        assertTrue(f.modem.silentDial().await(10, TimeUnit.SECONDS));
        t.interrupt();
        t.join(10_000);
        assertTrue(String.valueOf(thrown[0]), thrown[0] instanceof InterruptedException);
        assertHungUp();
    }

    @Test
    public void remoteHangupMarksTheLinkDown() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        Link link = f.method.connect(new ModemFixture.Context(s));
        assertTrue(link.isUp());
        assertNull(link.lostReason());
        f.modem.remoteHangup();
        await().atMost(10, TimeUnit.SECONDS).until(() -> !link.isUp());
        assertEquals("the line dropped (NO CARRIER)", link.lostReason());
        link.close();
        assertHungUp();
        assertEquals("no +++ to a modem already in command mode", 0, f.modem.escapes());
        assertEquals(1, f.modem.hangups());
    }

    @Test
    public void lineLossMarksTheLinkDownAndCloseStillCleansUp() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        Link link = f.method.connect(new ModemFixture.Context(s));
        f.pair.close();
        await().atMost(10, TimeUnit.SECONDS).until(() -> !link.isUp());
        assertTrue(link.lostReason(), link.lostReason().contains("vanished"));
        link.close();
        assertFalse(Files.exists(f.lockFile()));
    }

    @Test
    public void idleLineIsKeptReusedAndHungUpAfterTheIdleTime() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "hangup.idle", "2m");
        Link first = f.method.connect(new ModemFixture.Context(s));
        first.close();
        assertTrue(f.method.isKeptUp("modem"));
        assertTrue("still online after the firing", f.modem.isOnline());
        assertEquals(0, f.modem.hangups());

        f.clock.advance(Duration.ofSeconds(90));
        ModemFixture.Context again = new ModemFixture.Context(s);
        Link second = f.method.connect(again);
        assertEquals("no second dial", 1, f.modem.dials(ScriptedModem.CONNECTS));
        assertTrue(second.describe(), second.describe().endsWith("kept up"));
        second.close();

        // the idle time counts from the end of the last firing
        f.clock.advance(Duration.ofSeconds(119));
        assertTrue(f.method.isKeptUp("modem"));
        f.clock.advance(Duration.ofSeconds(1));
        assertHungUp();
        await().until(() -> !f.method.isKeptUp("modem"));
        assertEquals(1, f.modem.escapes());
    }

    @Test
    public void hangupOnDemandDropsAnIdleLine() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.hangup.idle", "10m");
        f.method.connect(new ModemFixture.Context(s)).close();
        assertTrue(f.modem.isOffHook());
        assertTrue(f.method.hangup(s));
        assertHungUp();
        assertFalse(f.method.hangup(s));
        assertEquals(0, f.clock.pendingTimers());
    }

    @Test
    public void deactivationHangsUpIdleAndBusyLines() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "hangup.idle", "10m");
        f.method.connect(new ModemFixture.Context(s)).close();
        f.method.deactivate();
        assertHungUp();
    }

    @Test
    public void deactivationHangsUpALinkInUse() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        Link link = f.method.connect(new ModemFixture.Context(s));
        f.method.deactivate();
        assertHungUp();
        assertFalse(link.isUp());
        link.close();
        assertEquals(1, f.modem.hangups());
    }

    @Test
    public void anotherConnectionOnTheSamePortTakesOverAnIdleLine() throws Exception {
        Settings a = f.settings("modem", ScriptedModem.CONNECTS, "hangup.idle", "10m");
        Settings b = f.settings("backup", ScriptedModem.busyThenConnect(0));
        f.method.connect(new ModemFixture.Context(a)).close();
        ModemFixture.Context ctx = new ModemFixture.Context(b);
        try (Link link = f.method.connect(ctx)) {
            assertTrue(link.isUp());
            assertFalse(f.method.isKeptUp("modem"));
            assertEquals(1, f.modem.hangups());
            assertTrue(ctx.progress().toString(), ctx.progress().get(0).startsWith("hanging up connection 'modem'"));
        }
    }

    @Test
    public void liveLockOfAnotherProcessRefusesThePort() throws Exception {
        Process holder = new ProcessBuilder("sleep", "60").start();
        try {
            Files.writeString(f.lockFile(), String.format("%10d\n", holder.pid()));
            Settings s = f.settings("modem", ScriptedModem.CONNECTS);
            ConnectException e = connectFails(s, new ModemFixture.Context(s));
            assertEquals("port " + f.pair.line() + " in use by pid " + holder.pid(), e.getMessage());
            assertEquals("the modem was not touched", List.of(), f.modem.commands());
            assertEquals("the other program's lock stays", holder.pid(), UucpLock.owner(f.lockFile()));
        } finally {
            holder.destroy();
        }
    }

    @Test
    public void staleLockOfADeadProcessIsRemoved() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(f.lockFile(), String.format("%10d\n", gone.pid()));
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        try (Link link = f.method.connect(new ModemFixture.Context(s))) {
            assertTrue(link.isUp());
            assertEquals(ProcessHandle.current().pid(), UucpLock.owner(f.lockFile()));
        }
        assertHungUp();
    }

    @Test
    public void resourceIsThePort() {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        assertEquals(Set.of("serial:" + f.pair.line()), f.method.resources(s));
    }

    @Test
    public void initErrorFailsWithoutDialling() throws Exception {
        f.modem.answerErrorTo("AT&F");
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        ConnectException e = connectFails(s, ctx);
        assertEquals("connection 'modem': the modem on " + f.pair.line() + " answered ERROR to 'AT&F E0 V1 Q0'; "
                + "nothing was dialled (check dialup.init in " + s.file() + ")", e.getMessage());
        assertEquals("no dial", 0, f.modem.dials(ScriptedModem.CONNECTS));
        assertTrue(f.modem.commands().toString(), f.modem.commands().stream().noneMatch(c -> c.startsWith("ATD")));
        assertTrue(ctx.progress().toString(), ctx.progress().stream().noneMatch(p -> p.contains("dialling")));
        assertHungUp();
    }

    @Test
    public void aModemFloodingBytesWithoutALineEndIsAClearErrorNotAGrowingBuffer() throws Exception {
        f.modem.floodOn("AT&F");
        Settings s = f.settings("modem", ScriptedModem.CONNECTS);
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        FutureTask<ConnectException> connect = new FutureTask<>(() -> connectFails(s, ctx));
        Thread dialler = new Thread(connect, "test-dialler");
        dialler.setDaemon(true); // a dialler that never stops reading must not keep the test JVM
        dialler.start();
        // the clock never moves here: only the bound on the line ends the wait
        ConnectException e = connect.get(20, TimeUnit.SECONDS);
        assertEquals("the modem on " + f.pair.line() + " sent more than " + Hayes.MAX_LINE
                + " characters without a line end (wrong speed, line noise, or not a modem?)", e.getMessage());
        assertTrue("the modem flooded past the bound: " + f.modem.flooded(), f.modem.flooded() > Hayes.MAX_LINE);
        assertEquals("no dial", 0, f.modem.dials(ScriptedModem.CONNECTS));
        await().atMost(10, TimeUnit.SECONDS).until(() -> !Files.exists(f.lockFile()));
    }

    @Test
    public void initNotStartingWithAtIsRefusedWhenConfigured() {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.init", "ATZ | XYZ");
        io.uplink.api.config.ConfigException e = org.junit.Assert.assertThrows(io.uplink.api.config.ConfigException.class,
                () -> f.method.validate(s));
        assertEquals("dialup.init", e.key());
        assertEquals("the modem was not touched", List.of(), f.modem.commands());
    }

    @Test
    public void aMissingPortFailsWithoutALockFile() throws Exception {
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.port", f.tmp.getRoot() + "/no-such-tty");
        ConnectException e = connectFails(s, new ModemFixture.Context(s));
        assertTrue(e.getMessage(), e.getMessage().contains("no-such-tty"));
        assertFalse(Files.exists(f.lockDir.resolve("LCK..no-such-tty")));
    }
}
