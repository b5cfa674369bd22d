package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.settings;
import static io.uplink.mail.internal.collect.Fixture.subjects;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeFalse;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

import io.uplink.api.mail.CollectReport;
import io.uplink.testsupport.MovableClock;

/**
 * POP3 servers that misbehave: each session and phase ends at its deadline with a message that says which
 * one ran out; nothing stored is lost and nothing unstored is deleted. The time bounds asserted here are
 * behaviour (the firing ends near its configured deadline, far before the hostile server would let go),
 * with generous room for a slow shared machine. The cases in the middle of RETR run twice: lock-step, and
 * with the server offering PIPELINING (the collector then asks for the next messages ahead).
 */
@RunWith(Parameterized.class)
public class HostileServerTest {

    @Parameterized.Parameters(name = "pipelining={0}")
    public static List<Object[]> modes() {
        return List.of(new Object[] {false}, new Object[] {true});
    }

    @Parameterized.Parameter
    public boolean pipelining;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private ScriptedPop3Server pop;
    private Path dir;
    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T10:00:00Z"));

    @Before
    public void start() throws Exception {
        pop = new ScriptedPop3Server();
        pop.pipelining = pipelining;
        dir = tmp.getRoot().toPath();
    }

    @After
    public void stop() throws Exception {
        pop.close();
    }

    private String server() {
        return "127.0.0.1:" + pop.port();
    }

    private CollectReport collect(Fixture.Context ctx, String... more) throws InterruptedException {
        List<String> kv = new ArrayList<>(List.of("connections", "office", "protocol", "pop3", "host", "127.0.0.1",
                "port", String.valueOf(pop.port()), "security", "none", "username", "u", "password", "Secret-pw-42",
                "deliverTo", "alice"));
        kv.addAll(List.of(more));
        return Fixture.collection(settings("hostile", kv.toArray(new String[0])), dir, clock).run(ctx);
    }

    private CollectReport collect(String... more) throws InterruptedException {
        return collect(new Fixture.Context(), more);
    }

    private void three() {
        for (int i = 1; i <= 3; i++) {
            pop.add("uid-" + i, message("bob@example.net", "alice@example.com", "m" + i, "x".repeat(3000) + " " + i));
        }
    }

    private static long seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000_000L;
    }

    @Test
    public void aGreetingOneByteEveryTwoSecondsEndsAtTheTimeout() throws Exception {
        assumeFalse("no RETR in this case: once is enough", pipelining);
        pop.greeting = ScriptedPop3Server.Greeting.DRIP;
        long t0 = System.nanoTime();
        CollectReport r = collect("timeout", "4s");
        // the greeting alone would take 48 bytes x 2 s = 96 s; each read gets a byte within the 4 s timeout
        assertTrue("ended near its 4 s deadline, took " + seconds(t0) + " s", seconds(t0) < 20);
        assertEquals(List.of("no greeting from " + server() + " within 4s"), r.errors());
    }

    @Test
    public void aSilentServerIsNoGreetingNotARefusedLogin() throws Exception {
        assumeFalse("no RETR in this case: once is enough", pipelining);
        pop.greeting = ScriptedPop3Server.Greeting.SILENT;
        CollectReport r = collect("timeout", "2s");
        assertEquals(List.of("no greeting from " + server() + " within 2s"), r.errors());
    }

    @Test
    public void aConnectionClosedDuringTheGreetingSaysSo() throws Exception {
        assumeFalse("no RETR in this case: once is enough", pipelining);
        pop.greeting = ScriptedPop3Server.Greeting.CLOSE;
        CollectReport r = collect("timeout", "10s");
        assertEquals(List.of("connection closed by the server while waiting for the greeting"), r.errors());
    }

    @Test
    public void aRefusedLoginQuotesTheServerAndNotThePassword() throws Exception {
        assumeFalse("no RETR in this case: once is enough", pipelining);
        pop.passReply = "-ERR [AUTH] Authentication failed.";
        CollectReport r = collect("timeout", "10s");
        assertEquals(1, r.errors().size());
        String e = r.errors().get(0);
        assertTrue(e, e.startsWith("login refused: -ERR [AUTH] Authentication failed."));
        assertTrue(e, e.contains("user 'u'"));
        assertFalse(e, e.contains("Secret-pw-42"));
    }

    @Test
    public void aSlowMessageRunsOutOfItsSizeDeadlineAndNothingIsDeleted() throws Exception {
        three();
        pop.slowRetrOf = 2;
        pop.slowBytesPerSecond = 100;
        long t0 = System.nanoTime();
        // message 2 (~3.2 KB) gets 2 s + 3.2 KB at 1 KiB/s, about 5 s; at 100 bytes/s it would take 32 s
        CollectReport r = collect("timeout", "2s", "minRate", "1KiB/s");
        assertTrue("ended near its deadline, took " + seconds(t0) + " s", seconds(t0) < 25);
        assertEquals(1, r.errors().size());
        String e = r.errors().get(0);
        assertTrue(e, e.startsWith("receiving message uid-2 ("));
        assertTrue(e, e.contains("ran past its deadline of") && e.contains("'minRate' 1KiB/s"));
        assertEquals("the message before it is stored", 1, r.collected());
        assertEquals(List.of("m1"), subjects(dir.resolve("mailboxes/alice")));
        assertEquals("nothing deleted on the server", 0, pop.count("DELE"));
        assertEquals(3, pop.mails.size());
        assertEquals("RETRs asked ahead exactly when the server offers PIPELINING", pipelining, pop.retrsAhead.get() > 0);
    }

    @Test
    public void theFiringDeadlineStopsTheSessionAndSaysSo() throws Exception {
        three();
        pop.slowRetrOf = 1;
        pop.slowBytesPerSecond = 10;
        Fixture.Context ctx = new Fixture.Context();
        ctx.timeLeft = Duration.ofSeconds(3);
        long t0 = System.nanoTime();
        // the size deadline alone (60 s + 3 KB at 10 bytes/s) is far beyond the firing's 3 s
        CollectReport r = collect(ctx, "timeout", "60s", "minRate", "10");
        assertTrue("ended near the firing's deadline, took " + seconds(t0) + " s", seconds(t0) < 20);
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("key 'firing.timeout' of connection 'office'"));
        assertEquals(0, r.collected());
        assertEquals(0, pop.count("DELE"));
        assertEquals(3, pop.mails.size());
    }

    /** Both modes: with PIPELINING the UIDL refusal comes behind a LIST answer sent for the same write. */
    @Test
    public void aServerWithoutUidlIsNotCollectedFrom() throws Exception {
        three();
        pop.uidl = false;
        CollectReport r = collect("timeout", "10s");
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("does not support UIDL"));
        assertEquals("UIDL sent right behind LIST exactly when the server offers PIPELINING", pipelining,
                pop.listsAhead.get() > 0);
        assertEquals(0, pop.count("RETR"));
        assertEquals(0, pop.count("DELE"));
        assertEquals(List.of(), subjects(dir.resolve("mailboxes/alice")));
    }

    @Test
    public void aRefusedListIsQuotedAndNothingIsTakenOrDeleted() throws Exception {
        three();
        pop.refuseList = true;
        CollectReport r = collect("timeout", "10s");
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("the server refused LIST: -ERR [SYS/TEMP] listing failed"));
        assertEquals(pipelining, pop.listsAhead.get() > 0);
        assertEquals(0, pop.count("RETR"));
        assertEquals(0, pop.count("DELE"));
        assertEquals(3, pop.mails.size());
        assertEquals(List.of(), subjects(dir.resolve("mailboxes/alice")));
    }

    @Test
    public void moreBytesThanAnnouncedAreNeitherStoredNorDeleted() throws Exception {
        pop.add("uid-big", big());
        pop.add("uid-2", message("bob@example.net", "alice@example.com", "m2", "after the big one"));
        pop.understateOf = 1;
        CollectReport r = collect("timeout", "10s");
        assertEquals(pipelining, pop.retrsAhead.get() > 0);
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("the server sent more than"));
        assertEquals(0, r.collected());
        assertEquals(List.of(), subjects(dir.resolve("mailboxes/alice")));
        assertEquals("nothing deleted", 0, pop.count("DELE"));
        assertEquals(2, pop.mails.size());
    }

    /** A 1.5 MB message, far more than the 100 bytes its LIST line will announce. */
    private static byte[] big() {
        return message("bob@example.net", "alice@example.com", "big", ("y".repeat(76) + "\r\n").repeat(20_000));
    }

    @Test
    public void aConnectionDroppedInTheMiddleOfRetrLosesNothingAndDuplicatesNothing() throws Exception {
        three();
        pop.cutRetrOf = 2;
        CollectReport first = collect("timeout", "10s");
        assertEquals(1, first.collected());
        assertEquals(1, first.errors().size());
        assertEquals("connection closed by the server while receiving message uid-2", first.errors().get(0));
        assertEquals(0, pop.count("DELE"));
        assertEquals(3, pop.mails.size());

        pop.cutRetrOf = -1;
        CollectReport second = collect("timeout", "10s");
        assertEquals(List.of(), second.errors());
        assertEquals(2, second.collected());
        assertEquals("all deleted once stored", 0, pop.mails.size());
        assertEquals(List.of("m1", "m2", "m3"), subjects(dir.resolve("mailboxes/alice")));
        assertEquals(pipelining, pop.retrsAhead.get() > 0);
    }
}
