package io.uplink.itests;

import static io.uplink.itests.SmtpDialog.reply;
import static io.uplink.itests.SmtpDialog.send;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The kill test of the submission listener, on the built distribution run as a process: four clients submit
 * 1,000 messages in all while the distribution is SIGKILLed three times (after 150, 400 and 650 answers of 250)
 * and restarted. Then the queue is sent to a GreenMail in this JVM. Every message that got a 250 arrives; a
 * message arrives more than once only when its client retried it after an attempt that got no 250.
 */
public class SubmissionKillIT {

    private static final int CLIENTS = 4;
    private static final int PER_CLIENT = 250;
    private static final int[] KILL_AT = {150, 400, 650};
    private static final Pattern SUBJECT = Pattern.compile("kill-(\\d+)-(\\d+)");

    private GreenMail greenMail;
    private Path home;
    private int port;
    private Process karaf;
    private Path dir;
    private boolean passed;

    private final AtomicInteger acked = new AtomicInteger();
    private final Map<String, Integer> ackedIds = new ConcurrentHashMap<>();
    private final Map<String, Integer> unacknowledgedTries = new ConcurrentHashMap<>();

    @Before
    public void setUp() throws Exception {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
        Path target = Path.of(System.getProperty("uplink.target", "target"));
        dir = Files.createTempDirectory(Files.createDirectories(target.resolve("kill")), "submission-");
        run(dir, "tar", "xzf", Path.of(URI.create(System.getProperty("uplink.distribution"))).toString());
        try (var s = Files.list(dir)) {
            home = s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        port = freePort();
        Path etc = home.resolve("etc");
        // the demo's fixed ports are not needed here
        Files.writeString(etc.resolve("io.uplink.demo.cfg"), "enabled = false\n");
        for (String f : new String[] {"io.uplink.connection-demo.cfg", "io.uplink.sender-demo.cfg", "io.uplink.collector-demo.cfg"}) {
            Files.deleteIfExists(etc.resolve(f));
        }
        Files.writeString(etc.resolve("io.uplink.submission.cfg"), "listen = 127.0.0.1:" + port + "\nmaxConnections = 8\n");
        Files.writeString(etc.resolve("io.uplink.sender-kill.cfg"), "hosts = 127.0.0.1:" + greenMail.getSmtp().getPort()
                + "\nsecurity = none\n");
        Files.writeString(etc.resolve("io.uplink.connection-kill.cfg"), "method = network\nsender = kill\ndefault = true\n");
        // Karaf's own fixed ports, so this run collides with nothing
        replace(etc.resolve("org.apache.karaf.shell.cfg"), "sshPort\\s*=.*", "sshPort = " + freePort());
        replace(etc.resolve("org.apache.karaf.management.cfg"), "rmiRegistryPort\\s*=.*", "rmiRegistryPort = " + freePort());
        replace(etc.resolve("org.apache.karaf.management.cfg"), "rmiServerPort\\s*=.*", "rmiServerPort = " + freePort());
        replace(etc.resolve("org.ops4j.pax.web.cfg"), "org.osgi.service.http.port\\s*=.*",
                "org.osgi.service.http.port = " + freePort());
    }

    @After
    public void tearDown() {
        if (karaf != null) {
            kill();
        }
        if (greenMail != null) {
            greenMail.stop();
        }
        if (passed && dir != null) {
            // the unpacked distribution (~80 MB) is kept only when the test failed, to be looked at
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                System.out.println("cannot remove " + dir + ": " + e);
            }
        }
    }

    @Test
    public void everyAcceptedMessageSurvivesKillsAndIsSent() throws Exception {
        start();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            clients.add(pool.submit(() -> {
                for (int n = 0; n < PER_CLIENT; n++) {
                    submitUntilAccepted(client, n);
                }
                return null;
            }));
        }
        for (int k : KILL_AT) {
            await().atMost(5, TimeUnit.MINUTES).pollInterval(5, TimeUnit.MILLISECONDS).until(() -> acked.get() >= k);
            kill();
            start();
        }
        for (Future<?> f : clients) {
            f.get(10, TimeUnit.MINUTES);
        }
        pool.shutdown();
        assertEquals(CLIENTS * PER_CLIENT, ackedIds.size());

        // send everything: connect.now fires the default connections
        Files.writeString(home.resolve("data/uplink/connect.now"), "");
        await().atMost(5, TimeUnit.MINUTES).pollInterval(2, TimeUnit.SECONDS)
                .until(() -> received().keySet().containsAll(ackedIds.keySet())
                && queueEmpty());

        Map<String, Integer> got = received();
        int extra = 0;
        for (Map.Entry<String, Integer> e : got.entrySet()) {
            int copies = e.getValue();
            int allowed = 1 + unacknowledgedTries.getOrDefault(e.getKey(), 0);
            assertTrue(e.getKey() + " arrived " + copies + " times but was tried without 250 only " + (allowed - 1)
                    + " times", copies <= allowed);
            extra += copies - 1;
        }
        System.out.println("kill test: " + ackedIds.size() + " accepted, " + unacknowledgedTries.size()
                + " retried after an attempt without 250, " + extra + " duplicate(s) at the server");
        passed = true;
    }

    private boolean queueEmpty() throws IOException {
        try (var s = Files.list(home.resolve("data/uplink/outbox/queue"))) {
            return s.findAny().isEmpty();
        }
    }

    private Map<String, Integer> received() throws Exception {
        Map<String, Integer> out = new HashMap<>();
        for (MimeMessage m : greenMail.getReceivedMessages()) {
            Matcher x = SUBJECT.matcher(String.valueOf(m.getSubject()));
            if (x.matches()) {
                out.merge(x.group(0), 1, Integer::sum);
            }
        }
        return out;
    }

    /** One client's message, tried until a 250 comes; every try that ended without one is counted. */
    private void submitUntilAccepted(int client, int n) {
        String id = "kill-" + client + "-" + n;
        while (true) {
            String reply;
            try {
                reply = submitOnce(id);
            } catch (IOException e) {
                reply = e.toString();
            }
            if (reply.startsWith("250")) {
                ackedIds.put(id, 1);
                acked.incrementAndGet();
                return;
            }
            unacknowledgedTries.merge(id, 1, Integer::sum);
            // wait for the listener to be back before the next try
            await().atMost(3, TimeUnit.MINUTES).pollInterval(100, TimeUnit.MILLISECONDS).until(this::listening);
        }
    }

    private String submitOnce(String id) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            String r = reply(in);
            for (String c : new String[] {"EHLO kill.test", "MAIL FROM:<kill@office.test>", "RCPT TO:<sink@example.com>",
                    "DATA"}) {
                if (!r.startsWith("2") && !r.startsWith("3")) {
                    return r;
                }
                r = send(out, in, c);
            }
            if (!r.startsWith("354")) {
                return r;
            }
            return send(out, in, "From: kill@office.test\r\nTo: sink@example.com\r\nSubject: " + id + "\r\n\r\n"
                    + "x".repeat(4000) + "\r\n.");
        }
    }

    private boolean listening() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server")
                .redirectErrorStream(true)
                .redirectOutput(home.resolve("console.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        karaf = pb.start();
        await().atMost(3, TimeUnit.MINUTES).pollInterval(100, TimeUnit.MILLISECONDS).until(this::listening);
    }

    /** SIGKILL to the launcher script and every process under it (the JVM). */
    private void kill() {
        List<ProcessHandle> all = new ArrayList<>(karaf.descendants().toList());
        all.add(karaf.toHandle());
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : all) {
            h.onExit().join();
        }
        karaf = null;
    }

    private static void replace(Path file, String regex, String line) throws IOException {
        String s = Files.exists(file) ? Files.readString(file) : "";
        String t = s.replaceAll("(?m)^#?\\s*" + regex + "$", line);
        if (t.equals(s)) {
            t = s + "\n" + line + "\n";
        }
        Files.writeString(file, t);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).inheritIO().start();
        if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed");
        }
    }
}
