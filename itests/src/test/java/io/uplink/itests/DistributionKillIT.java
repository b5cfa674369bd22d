package io.uplink.itests;

import static io.uplink.itests.DistributionProcess.count;
import static io.uplink.itests.DistributionProcess.subjects;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import jakarta.mail.Flags;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.After;
import org.junit.Test;

import com.icegreen.greenmail.store.StoredMessage;
import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.mail.internal.collect.CommandProxy;
import io.uplink.mail.internal.collect.NoDelayGreenMail;

/**
 * The kill test against the real distribution: the built assembly is unpacked and started as a process
 * ({@code bin/karaf daemon}, which execs the JVM, so the process is the JVM), a collector with
 * {@code route = headers} and {@code domains = office.test} collects over POP3 from GreenMail in this test
 * JVM, every message goes To alice and Cc bob, and the JVM is SIGKILLed at 11 points of a firing, each in
 * its own round with 40 new messages: the session is held at a chosen protocol line by a
 * {@link CommandProxy} (RETR early to late, the server's answer to a RETR, DELE first to late, QUIT, the
 * server's answer to QUIT), so each kill lands where it says. Before each kill the JVM must be alive and
 * have stored at least one message in that round. After the rounds, Karaf is started once more and fired to the end: each mailbox holds each
 * of the 440 messages exactly once and the server is empty.
 */
public class DistributionKillIT {

    private static final int PER_ROUND = 40;

    private NoDelayGreenMail greenMail;
    private Process karaf;
    private Path home;
    /** Whether the started JVM's compiler mode was checked (once per test). */
    private boolean jitChecked;

    /** Where a round's firing is stopped and killed, and whether that is in the delete phase. */
    private record Point(String name, Supplier<Predicate<String>> at, boolean deletePhase) {
    }

    @After
    public void stop() {
        if (karaf != null) {
            karaf.destroyForcibly();
        }
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    public void killedAtElevenPointsOfAFiringNoMailboxLosesOrDuplicatesAMessage() throws Exception {
        List<Point> points = List.of(
                new Point("2nd RETR", () -> CommandProxy.nth(2, c("RETR ")), false),
                new Point("8th RETR", () -> CommandProxy.nth(8, c("RETR ")), false),
                new Point("15th RETR", () -> CommandProxy.nth(15, c("RETR ")), false),
                new Point("25th RETR", () -> CommandProxy.nth(25, c("RETR ")), false),
                new Point("the server's answer to the 32nd RETR", () -> answerTo(CommandProxy.nth(32, c("RETR "))), false),
                new Point("38th RETR", () -> CommandProxy.nth(38, c("RETR ")), false),
                new Point("1st DELE", () -> CommandProxy.nth(1, c("DELE ")), true),
                new Point("20th DELE", () -> CommandProxy.nth(20, c("DELE ")), true),
                new Point("38th DELE", () -> CommandProxy.nth(38, c("DELE ")), true),
                new Point("QUIT", () -> c("QUIT"), true),
                new Point("the server's answer to QUIT (deleted there, not yet recorded)", () -> answerTo(c("QUIT")), true));

        // TCP_NODELAY on the server's sessions, as a real server has (NoDelayGreenMail)
        greenMail = new NoDelayGreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        greenMail.start();
        GreenMailUser user = greenMail.setUser("office@example.com", "office", "pw");
        int pop3 = greenMail.getPop3().getPort();
        home = unpack();
        Path alice = home.resolve("data/uplink/mailboxes/alice/new");
        Path bob = home.resolve("data/uplink/mailboxes/bob/new");

        int sent = 0;
        StringBuilder summary = new StringBuilder();
        for (Point point : points) {
            for (int i = 0; i < PER_ROUND; i++, sent++) {
                deliver(user, sent);
            }
            try (CommandProxy proxy = new CommandProxy(new InetSocketAddress("127.0.0.1", pop3), point.at().get())) {
                collector(proxy.port());
                start();
                int before = count(alice) + count(bob);
                uplinkOk("connection:fire", "office");
                String held = proxy.awaitHeld(180, TimeUnit.SECONDS);
                assertNotNull("round '" + point.name() + "': the firing never reached the kill point\n" + log(), held);
                try {
                    await().atMost(60, TimeUnit.SECONDS).pollInterval(10, TimeUnit.MILLISECONDS)
                            .until(() -> count(alice) + count(bob) > before || !karaf.isAlive());
                } catch (ConditionTimeoutException e) {
                    // the assertions below say what is missing
                }
                int stored = count(alice) + count(bob) - before;
                assertTrue("round '" + point.name() + "': Karaf must be alive at the kill\n" + log(), karaf.isAlive());
                assertTrue("round '" + point.name() + "': stored at least one message before the kill (" + stored + ")",
                        stored > 0);
                kill();
                summary.append(point.name()).append(": held at '").append(held).append("', stored ").append(stored)
                        .append(" copies this round, ").append(onServer(user)).append(" left on the server\n");
            }
            if (point.deletePhase()) {
                // RFC 1939: a session that ends without QUIT deletes nothing and its DELE marks are gone. GreenMail
                // keeps them (and then numbers its messages differently in UIDL/LIST and RETR/DELE), so drop them
                // as a conforming server would.
                for (StoredMessage m : greenMail.getManagers().getImapHostManager().getInbox(user).getMessages()) {
                    m.setFlag(Flags.Flag.DELETED, false);
                }
            }
        }

        // the restart after the last kill, and a firing to the end
        collector(pop3);
        start();
        String done = uplinkOk("connection:fire", "--wait", "office");
        assertTrue(done, Pattern.compile("(?m)^office OK ").matcher(done).find());
        kill();

        for (Path box : List.of(alice, bob)) {
            Map<String, Integer> subjects = subjects(box);
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                Integer n = subjects.get("kill " + i);
                if (n == null || n != 1) {
                    wrong.add("kill " + i + " x" + (n == null ? 0 : n));
                }
            }
            assertEquals(box + ": every message exactly once; wrong: " + wrong + "\n" + summary, sent,
                    subjects.values().stream().mapToInt(Integer::intValue).sum());
            assertTrue(box + ": " + wrong + "\n" + summary, wrong.isEmpty());
        }
        assertEquals("the server is empty\n" + summary, 0, onServer(user));
        System.out.println("DistributionKillIT: " + sent + " messages, 2 mailboxes\n" + summary);
    }

    private static Predicate<String> c(String command) {
        return l -> l.startsWith("C: " + command);
    }

    /** The first server line after the client line {@code command} matches: the client waits for it. */
    private static Predicate<String> answerTo(Predicate<String> command) {
        boolean[] sent = {false};
        return l -> {
            if (!sent[0] && command.test(l)) {
                sent[0] = true;
                return false;
            }
            return sent[0] && l.startsWith("S: ");
        };
    }

    private void deliver(GreenMailUser user, int i) throws Exception {
        String m = "From: carol@example.net\r\nTo: alice@office.test\r\nCc: bob@office.test\r\nSubject: kill " + i
                + "\r\nMessage-ID: <kill." + i + "@test>\r\n\r\n" + ("line " + i + "\r\n").repeat(40);
        user.deliver(new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(m.getBytes(StandardCharsets.US_ASCII))));
    }

    private int onServer(GreenMailUser user) throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount();
    }

    // ------------------------------------------------------------------ the distribution as a process

    /** Unpacks the assembly the reactor built and moves every port it opens to a free one. */
    private static Path unpack() throws Exception {
        Path tarGz = Path.of(URI.create(System.getProperty("uplink.distribution")));
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("uplink.target")), "kill-it-");
        run(List.of("tar", "xzf", tarGz.toString(), "-C", dir.toString()), dir);
        Path home;
        try (Stream<Path> s = Files.list(dir)) {
            home = s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        Path etc = home.resolve("etc");
        set(etc.resolve("org.apache.karaf.shell.cfg"), Map.of("sshPort", free(), "sshHost", "127.0.0.1"));
        set(etc.resolve("org.apache.karaf.management.cfg"), Map.of("rmiRegistryPort", free(), "rmiServerPort", free()));
        set(etc.resolve("org.ops4j.pax.web.cfg"), Map.of("org.osgi.service.http.port", free()));
        set(etc.resolve("io.uplink.demo.cfg"), Map.of("enabled", "false"));
        for (String demo : List.of("connection", "collector", "sender")) {
            Files.deleteIfExists(etc.resolve("io.uplink." + demo + "-demo.cfg"));
        }
        Files.writeString(etc.resolve("io.uplink.connection-office.cfg"), "name = Office\nmethod = network\n");
        return home;
    }

    private void collector(int port) throws IOException {
        Files.writeString(home.resolve("etc/io.uplink.collector-office.cfg"), "connections = office\nprotocol = pop3\n"
                + "host = 127.0.0.1\nport = " + port + "\nsecurity = none\nusername = office\npassword = pw\n"
                + "route = headers\ndomains = office.test\nleaveOnServer.days = 0\n");
    }

    /** Starts Karaf on the same data and waits until the office connection and its collector are there. */
    private void start() throws Exception {
        karaf = DistributionProcess.karaf(home);
        Pattern ready = Pattern.compile("(?m)^collectors\\W+office\\s*$");
        await().atMost(240, TimeUnit.SECONDS).pollInterval(1, TimeUnit.SECONDS).until(() -> {
            assertTrue("Karaf ended while starting\n" + log(), karaf.isAlive());
            String[] r = uplink("connection:status", "office");
            return r[0].equals("0") && ready.matcher(r[1]).find() && r[1].contains("IDLE");
        });
        if (!jitChecked) {
            // bin/setenv: the distribution's JVM compiles with C1 only (docs/architecture.md, "The JVM's JIT")
            String vm = uplinkOk("system:property", "java.vm.info");
            assertTrue("the JVM must run with -XX:TieredStopAtLevel=1 from bin/setenv: " + vm, vm.contains("emulated-client"));
            jitChecked = true;
        }
    }

    private void kill() throws InterruptedException {
        karaf.destroyForcibly(); // SIGKILL: bin/karaf daemon execs the JVM
        assertTrue(karaf.waitFor(60, TimeUnit.SECONDS));
        assertEquals("killed by SIGKILL", 137, karaf.exitValue());
    }

    private String uplinkOk(String... args) throws Exception {
        String[] r = uplink(args);
        assertEquals("bin/uplink " + String.join(" ", args) + ":\n" + r[1], "0", r[0]);
        return r[1];
    }

    /** Runs {@code bin/uplink args...} with stdin closed; returns {exit status, output}. */
    private String[] uplink(String... args) throws Exception {
        return DistributionProcess.uplink(home, args);
    }

    private String log() {
        return DistributionProcess.log(home);
    }

    private static void run(List<String> cmd, Path dir) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).inheritIO().start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(String.join(" ", cmd), 0, p.exitValue());
    }

    /** Sets keys in a Karaf .cfg file: replaces the line of each key, or appends it. */
    private static void set(Path cfg, Map<String, String> values) throws IOException {
        List<String> lines = new ArrayList<>(Files.exists(cfg) ? Files.readAllLines(cfg) : List.of());
        Map<String, String> left = new HashMap<>(values);
        for (int i = 0; i < lines.size(); i++) {
            for (Map.Entry<String, String> e : values.entrySet()) {
                if (lines.get(i).matches("\\s*" + Pattern.quote(e.getKey()) + "\\s*=.*")) {
                    lines.set(i, e.getKey() + " = " + e.getValue());
                    left.remove(e.getKey());
                }
            }
        }
        left.forEach((k, v) -> lines.add(k + " = " + v));
        Files.write(cfg, lines);
    }

    private static String free() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return String.valueOf(s.getLocalPort());
        }
    }

}
