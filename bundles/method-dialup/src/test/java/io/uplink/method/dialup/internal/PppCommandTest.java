package io.uplink.method.dialup.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.Link;
import io.uplink.method.dialup.testing.ScriptedModem;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * The PPP step with a script standing in for pppd (this kernel has no PPP): started after CONNECT with the line's
 * facts in its environment, ready when it prints pppd's "local IP address" line, its failure fails the connect,
 * and a hang-up stops its whole process group.
 */
public class PppCommandTest {

    private final TemporaryFolder tmp = new TemporaryFolder(new File("target").getAbsoluteFile());
    private final ModemFixture f = new ModemFixture(tmp);

    @Rule
    public RuleChain chain = RuleChain.outerRule(Timeout.seconds(60)).around(tmp).around(f);

    /** A pppd stand-in: records its environment, starts a child in its group, says it is up, stays. */
    private Path standIn(String body) throws Exception {
        Path script = tmp.getRoot().toPath().resolve("pppd-standin.sh");
        Files.writeString(script, "#!/bin/sh\n"
                + "dir=$(dirname \"$0\")\n"
                + "echo \"$CONNECTION $UPLINK_PORT $UPLINK_BAUD $UPLINK_USERNAME $UPLINK_PASSWORD\" > \"$dir/env\"\n"
                + "echo $$ > \"$dir/ppp.pid\"\n"
                + body);
        assertTrue(script.toFile().setExecutable(true));
        return script;
    }

    private static boolean alive(Path pidFile) throws Exception {
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    public void startedAfterConnectAndItsWholeGroupStoppedOnHangup() throws Exception {
        // the child is orphaned at once (subshell): only a process-group signal can reach it
        Path script = standIn("(sleep 300 & echo $! > \"$dir/child.pid\")\n"
                + "echo 'Serial connection established.'\necho 'local  IP address 10.64.64.64'\nexec sleep 301\n");
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.ppp.command", script.toString(),
                "dialup.username", "alice", "dialup.password", "s3cret");
        ModemFixture.Context ctx = new ModemFixture.Context(s);
        Link link = f.method.connect(ctx);
        assertTrue(link.isUp());
        assertTrue(link.describe(), link.describe().endsWith("(PPP)"));
        assertFalse("the password is never shown", link.describe().contains("s3cret"));
        Path dir = script.getParent();
        assertEquals("modem " + f.pair.line() + " 115200 alice s3cret", Files.readString(dir.resolve("env")).trim());
        assertTrue(ctx.progress().contains("PPP is up"));
        assertTrue(alive(dir.resolve("child.pid")));

        link.close();
        await().atMost(15, TimeUnit.SECONDS).until(() -> !alive(dir.resolve("ppp.pid")) && !alive(dir.resolve("child.pid")));
        await().atMost(10, TimeUnit.SECONDS).until(() -> !f.modem.isOffHook());
        assertEquals("+++ then ATH0 after PPP", 1, f.modem.escapes());
        assertEquals(1, f.modem.hangups());
    }

    @Test
    public void failingCommandFailsTheConnectAndHangsUp() throws Exception {
        Path script = standIn("echo 'Connect script failed'\nexit 3\n");
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.ppp.command", script.toString());
        try {
            f.method.connect(new ModemFixture.Context(s));
            fail();
        } catch (ConnectException e) {
            assertEquals("PPP command exited with code 3 (last output: Connect script failed)", e.getMessage());
        }
        await().atMost(10, TimeUnit.SECONDS).until(() -> !f.modem.isOffHook());
        assertEquals(1, f.modem.escapes());
        assertFalse(Files.exists(f.lockFile()));
    }

    @Test
    public void notReadyWithinTheTimeoutFailsAndStopsIt() throws Exception {
        Path script = standIn("echo 'waiting for LCP'\nexec sleep 300\n");
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.ppp.command", script.toString(),
                "dialup.ppp.readyTimeout", "45s");
        CompletableFuture<Link> connect = CompletableFuture.supplyAsync(() -> {
            try {
                return f.method.connect(new ModemFixture.Context(s));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Path pid = script.getParent().resolve("ppp.pid");
        await().atMost(10, TimeUnit.SECONDS).until(() -> Files.exists(pid) && Files.size(pid) > 0);
        f.clock.advance(Duration.ofSeconds(45));
        try {
            connect.get(20, TimeUnit.SECONDS);
            fail();
        } catch (ExecutionException e) {
            assertEquals("PPP command not ready within 45s (last output: waiting for LCP)", e.getCause().getCause().getMessage());
        }
        await().atMost(15, TimeUnit.SECONDS).until(() -> !alive(pid));
        await().atMost(10, TimeUnit.SECONDS).until(() -> !f.modem.isOffHook());
    }

    @Test
    public void commandExitingLaterMarksTheLinkDown() throws Exception {
        Path script = standIn("echo 'local  IP address 10.64.64.64'\nwhile [ ! -e \"$dir/stop\" ]; do sleep 0.1; done\nexit 16\n");
        Settings s = f.settings("modem", ScriptedModem.CONNECTS, "dialup.ppp.command", script.toString());
        Link link = f.method.connect(new ModemFixture.Context(s));
        assertTrue(link.isUp());
        Files.writeString(script.getParent().resolve("stop"), "");
        await().atMost(10, TimeUnit.SECONDS).until(() -> !link.isUp());
        assertEquals("the PPP command exited with code 16 (last output: local  IP address 10.64.64.64)",
                link.lostReason());
        link.close();
        await().atMost(10, TimeUnit.SECONDS).until(() -> !f.modem.isOffHook());
    }
}
