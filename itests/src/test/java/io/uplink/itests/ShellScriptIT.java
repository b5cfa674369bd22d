package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The scripted path: {@code bin/uplink <command>} run as an external process with stdin closed (as from
 * cron) prints the command's output and exits with its status; and the connection commands in the shell.
 * Also what the distribution boots with (every Uplink bundle of the base feature active, the internal features
 * hidden): no test here stops a bundle or changes a feature, so these share this class's container.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellScriptIT extends UplinkTestSupport {

    private static final Pattern LIST_HEADER =
            Pattern.compile("(?m)^Id\\s+\\| Name\\s+\\| Method\\s+\\| Default \\| State\\s+\\| Last result\\s+\\| Last fired\\s+\\| Problems\\s*$");

    /** What an external run of bin/uplink gave. */
    record Run(int exit, String out, String err) {
        String all() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    @Test
    public void uplinkBundlesAreActive() {
        for (String name : new String[] {"io.uplink.api", "io.uplink.core", "io.uplink.method.network", "io.uplink.shell"}) {
            Bundle b = findBundleByName(name);
            assertNotNull(name + " is installed", b);
            assertEquals(name + " is active", Bundle.ACTIVE, b.getState());
        }
    }

    @Test
    public void internalFeaturesAreHiddenFromFeatureList() {
        RolePrincipal[] roles = {new RolePrincipal("admin"), new RolePrincipal("manager"), new RolePrincipal("viewer")};
        String list = executeCommand("feature:list", roles);
        assertTrue(list, list.contains("uplink-scheduler"));
        assertFalse("the internal mail library feature is not offered: " + list, list.contains("uplink-jakarta-mail"));
        String all = executeCommand("feature:list --show-hidden", roles);
        assertTrue(all, all.contains("uplink-jakarta-mail"));
    }

    @Test
    public void scriptRunsACommandWithStdinClosedAndExitsZero() throws Exception {
        Run run = uplink("connection:list");

        assertEquals(run.all(), 0, run.exit());
        assertTrue(run.all(), LIST_HEADER.matcher(run.out()).find());
        assertFalse("no colour codes in a pipe: " + run.all(), run.out().contains("\u001b["));
        assertFalse("no password anywhere: " + run.all(), run.all().toLowerCase().contains("password"));
    }

    @Test
    public void scriptExitsNonZeroWithTheErrorWhenTheCommandFails() throws Exception {
        Run run = uplink("connection:status", "nosuch");

        assertNotEquals(run.all(), 0, run.exit());
        assertNotEquals("not a failure to reach Karaf: " + run.all(), 255, run.exit());
        assertTrue(run.all(), (run.out() + run.err()).contains("connection 'nosuch' is not configured"));
    }

    @Test
    public void scriptReportsAnUnknownCommandAsAFailure() throws Exception {
        Run run = uplink("connection:nosuchverb");

        assertEquals(run.all(), 1, run.exit());
        assertTrue(run.all(), run.out().contains("Command not found: connection:nosuchverb"));
    }

    @Test
    public void listAndMethodsInTheShell() {
        String list = executeCommand("connection:list");
        assertTrue(list, LIST_HEADER.matcher(list).find());

        String methods = executeCommand("connection:methods");
        assertTrue(methods, Pattern.compile("(?m)^Method\\s+\\| Bundle\\s+\\| Version\\s+\\| Description").matcher(methods).find());
        assertTrue(methods, Pattern.compile("(?m)^network\\s+\\| io\\.uplink\\.method\\.network\\s+\\| ").matcher(methods).find());
    }

    @Test
    public void fireWaitThroughTheScriptEndsWithTheResultLineAndItsExitStatus() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (ServerSocket open = new ServerSocket(0)) {
            writeCfg("io.uplink.connection-itok.cfg", "name = IT reachable\nmethod = network\n"
                    + "network.probe = 127.0.0.1:" + open.getLocalPort() + "\n");
            writeCfg("io.uplink.connection-itdead.cfg", "name = IT dead router\nmethod = network\n"
                    + "network.probe = 127.0.0.1:" + closedPort + "\nnetwork.probe.timeout = 2s\n");
            ConnectionService connections = getOsgiService(ConnectionService.class);
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> idle(connections, "itok") && idle(connections, "itdead"));

            Run ok = uplink("connection:fire", "--wait", "itok");
            assertEquals(ok.all(), 0, ok.exit());
            assertTrue(ok.all(), Pattern.compile("(?m)^fired itok as \\S+$").matcher(ok.out()).find());
            assertTrue(ok.all(), Pattern.compile("(?m)^itok OK \\d+\\.\\ds .+$").matcher(ok.out()).find());

            Run dead = uplink("connection:fire", "--wait", "itdead");
            assertEquals(dead.all(), 1, dead.exit());
            assertTrue(dead.all(), Pattern.compile("(?m)^itdead FAILED \\d+\\.\\ds .*network probe 127\\.0\\.0\\.1:" + closedPort)
                    .matcher(dead.out()).find());
            assertTrue(dead.all(), dead.out().contains("the firing of connection 'itdead' FAILED"));

            String history = executeCommand("connection:history --limit 5 itok");
            assertTrue(history, Pattern.compile("(?m)^\\S+\\s+\\| itok\\s+\\| shell\\s+\\|.*\\| OK ").matcher(history).find());
        } finally {
            Files.deleteIfExists(etc().resolve("io.uplink.connection-itok.cfg"));
            Files.deleteIfExists(etc().resolve("io.uplink.connection-itdead.cfg"));
        }
    }

    /**
     * A cron job's failures: each expected user error reaches the caller (exit 1, the reason on the terminal)
     * and leaves at most one WARN line in karaf.log, with no stack trace; logins leave no INFO line.
     */
    @Test
    public void userErrorsLeaveOneWarnLineAndNoStackTraceInKarafLog() throws Exception {
        Path log = karafLog();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try {
            writeCfg("io.uplink.connection-itlogdead.cfg", "name = IT log dead router\nmethod = network\n"
                    + "network.probe = 127.0.0.1:" + closedPort + "\nnetwork.probe.timeout = 2s\n");
            ConnectionService connections = getOsgiService(ConnectionService.class);
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> idle(connections, "itlogdead"));
            long from = Files.size(log);

            List<String[]> failing = List.of(
                    new String[] {"connection:fire", "--wait", "itlogdead"},
                    new String[] {"connection:fire", "--wait", "nosuch"},
                    new String[] {"connection:fire", "--wait", "--timeout", "soon", "itlogdead"},
                    new String[] {"connection:status", "nosuch"},
                    new String[] {"connection:history", "nosuch"},
                    new String[] {"outbox:queue", "/nonexistent/uplink-it/message.eml"});
            for (String[] args : failing) {
                Run run = uplink(args);
                assertEquals(run.all(), 1, run.exit());
                assertTrue("the reason reaches the terminal: " + run.all(), run.out().contains("Error executing command: "));
            }
            Run ok = uplink("connection:list");
            assertEquals(ok.all(), 0, ok.exit());

            // the log is written as the commands run; wait until the last failure's line is there
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> since(log, from).contains("outbox:queue: no such file"));
            String written = since(log, from);
            assertFalse(written, written.contains("Exception caught while executing command"));
            assertFalse("no stack trace: " + written, Pattern.compile("(?m)^\\s+at \\S+\\(").matcher(written).find());
            assertFalse("no stack trace: " + written, written.contains("Caused by:"));
            assertFalse("logins are not logged at INFO: " + written, written.contains("authenticated"));
            long errors = written.lines().filter(l -> l.contains("| ERROR |")).count();
            assertEquals(written, 0, errors);
            long warns = written.lines().filter(l -> l.contains("| WARN ")).count();
            assertTrue("at most one WARN line per failed command (" + failing.size() + "): " + written, warns <= failing.size());
            assertTrue(written, written.contains("connection:status: connection 'nosuch' is not configured"));
        } finally {
            Files.deleteIfExists(etc().resolve("io.uplink.connection-itlogdead.cfg"));
        }
    }

    /** karaf.log of the running container. */
    private static Path karafLog() {
        String dir = System.getProperty("karaf.log");
        Path log = (dir != null ? Path.of(dir) : Path.of(System.getProperty("karaf.data"), "log")).resolve("karaf.log");
        assertTrue("karaf.log at " + log, Files.isRegularFile(log));
        return log;
    }

    /** What was written to a file after its first {@code from} bytes. */
    private static String since(Path file, long from) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(Math.min(from, Files.size(file)));
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static boolean idle(ConnectionService connections, String id) {
        return connections.status(id).map(s -> s.state() == ConnectionState.IDLE).orElse(false);
    }

    /** Runs {@code <karaf.home>/bin/uplink args...} with stdin from /dev/null and no terminal, as cron would. */
    private Run uplink(String... args) throws IOException, InterruptedException {
        Path home = Path.of(System.getProperty("karaf.home"));
        Path out = Files.createTempFile("uplink", ".out");
        Path err = Files.createTempFile("uplink", ".err");
        List<String> command = new ArrayList<>();
        command.add(home.resolve("bin/uplink").toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        env.remove("TERM");
        env.put("KARAF_BASE", System.getProperty("karaf.base", home.toString()));
        env.put("KARAF_ETC", System.getProperty("karaf.etc"));
        env.put("KARAF_DATA", System.getProperty("karaf.data"));
        Process p = pb.start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("bin/uplink " + String.join(" ", args) + " did not end within 90 s");
        }
        try {
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
