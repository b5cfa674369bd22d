package io.uplink.itests;

import static io.uplink.itests.DistributionProcess.count;
import static io.uplink.itests.DistributionProcess.subjects;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Predicate;
import java.util.Properties;
import java.util.HashMap;
import java.net.InetSocketAddress;
import java.io.ByteArrayInputStream;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.MimeMessage;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;
import org.openqa.selenium.json.Json;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.mail.internal.collect.NoDelayGreenMail;
import io.uplink.testsupport.PostgresServer;

/**
 * Cluster mode on real nodes: copies of the built distribution, each made by its own {@code bin/uplink-cluster-node}
 * (as the README tells a user to), run as processes on one machine against a private PostgreSQL (fsync on), with
 * one shared item folder (a second FileInstall directory on every node) and one shared Maildir root. The nodes
 * are started once for the class and the tests run in order: the ones that kill a node come last, so that
 * {@link #twoNodesRunAtLeast} need not wait for a node to boot again.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class ClusterIT {

    private static final int NODES = 3;
    /** How long a node may take to boot and check in on a loaded 2-core machine. */
    private static final Duration BOOT = Duration.ofSeconds(240);

    private static PostgresServer pg;
    private static GreenMail greenMail;
    private static String database;
    private static Path root;
    private static Path shared;
    private static Path mailboxes;
    private static final List<Node> nodes = new ArrayList<>();
    private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeClass
    public static void startCluster() throws Exception {
        pg = PostgresServer.start(); // fsync on: nodes are killed
        database = pg.createDatabase();
        root = Files.createTempDirectory(Path.of(System.getProperty("uplink.target")), "cluster-it-");
        Path dist = unpack(root);
        shared = root.resolve("shared-etc");
        mailboxes = root.resolve("mailboxes");
        Runtime.getRuntime().addShutdownHook(new Thread(ClusterIT::killAll));
        for (int i = 1; i <= NODES; i++) {
            Node n = new Node("node" + i, root.resolve("node" + i), free());
            n.submission = free();
            run(List.of(dist.resolve("bin/uplink-cluster-node").toString(), "--home", n.home.toString(),
                    "--node-id", n.id, "--shared-etc", shared.toString(), "--mailboxes", mailboxes.toString(),
                    "--db-url", pg.url(database), "--db-user", pg.user(),
                    "--ssh-port", String.valueOf(n.ssh), "--http-port", String.valueOf(n.http),
                    "--rmi-registry-port", free() + "", "--rmi-server-port", free() + "",
                    "--submission-port", String.valueOf(n.submission)), root);
            // failure detection sooner than the shipped sample (5 s check-in, 15 s fence), so a takeover is not spent
            // waiting: dead after 2 x 3 s without a check-in, a paused node's lock gone after 6 s
            Path clusterCfg = n.home.resolve("etc/io.uplink.cluster.cfg");
            String cfg = Files.readString(clusterCfg);
            String faster = cfg.replaceAll("(?m)^checkin\\.interval\\s*=.*$", "checkin.interval = 3s")
                    .replaceAll("(?m)^fence\\.timeout\\s*=.*$", "fence.timeout = 6s");
            assertTrue("the node's cluster settings name both keys:\n" + cfg,
                    faster.contains("checkin.interval = 3s") && faster.contains("fence.timeout = 6s"));
            Files.writeString(clusterCfg, faster);
            // a login for the REST API (the node's own users.properties)
            Files.writeString(n.home.resolve("etc/users.properties"), "\nkaraf = karaf,_g_:admingroup\n"
                    + "_g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh\n",
                    java.nio.file.StandardOpenOption.APPEND);
            nodes.add(n);
        }
        for (Node n : nodes) {
            n.start();
        }
        for (Node n : nodes) {
            n.awaitUp();
        }
    }

    @AfterClass
    public static void stopCluster() throws Exception {
        killAll();
        if (greenMail != null) {
            greenMail.stop();
        }
        if (pg != null) {
            pg.close();
        }
    }

    private static void killAll() {
        for (Node n : nodes) {
            n.killQuietly();
        }
    }

    /**
     * A node stopped by an earlier test runs again; a killed one stays dead while two others run (the tests that
     * kill come last, so no test waits for a node to boot again), else it is started again.
     */
    @Before
    public void twoNodesRunAtLeast() throws Exception {
        for (Node n : nodes) {
            if (n.alive()) {
                n.signal("CONT");
            }
        }
        if (running().size() < 2) {
            for (Node n : nodes) {
                if (!n.alive()) {
                    n.start();
                }
            }
        }
        for (Node n : running()) {
            n.awaitUp();
        }
    }

    /** The nodes whose JVM is alive, in id order. */
    private static List<Node> running() {
        return nodes.stream().filter(Node::alive).toList();
    }

    // ------------------------------------------------------------------ the tests

    @Test
    public void step1_everyNodeSeesEveryNodeCheckIn() throws Exception {
        assertEquals("every node started", NODES, running().size());
        for (Node n : running()) {
            String out = n.uplinkOk("cluster:nodes");
            for (Node other : running()) {
                String self = other == n ? " \\(this node\\)" : "";
                assertTrue(n.id + "'s cluster:nodes shows " + other.id + " alive:\n" + out, Pattern.compile("(?m)^\\s*"
                        + other.id + self + "\\s*\\|[^|]*\\|\\s*alive\\s*\\|").matcher(out).find());
            }
        }
    }

    @Test
    public void step2_anItemChangedOnOneNodeIsLiveOnEveryNodeWithinFiveSeconds() throws Exception {
        String id = "shared" + System.nanoTime() % 100000;
        Path file = shared.resolve("io.uplink.connection-" + id + ".cfg");

        // a file dropped into the shared folder
        writeItem("connection", id, "name = First\nmethod = network\n");
        long t0 = System.nanoTime();
        awaitNameOnAll(id, "First", t0);

        // config:edit on one node: FileInstall writes it back into the shared file, the others take it from there
        Node editor = running().get(0);
        editor.uplinkOk("config:edit io.uplink.connection~" + id + "; config:property-set name Second; config:update");
        long t1 = System.nanoTime();
        awaitNameOnAll(id, "Second", t1);
        String text = Files.readString(file);
        assertTrue("the edit is in the shared file:\n" + text, text.contains("name = Second"));
        // no node writes the file back after taking it in (that emptied it once: see bin/uplink-cluster-node)
        long written = Files.getLastModifiedTime(file).toMillis();
        awaitNameOnAll(id, "Second", System.nanoTime());
        assertEquals("the shared file is not rewritten by the nodes that took it in", written,
                Files.getLastModifiedTime(file).toMillis());
        try (Stream<Path> s = Files.list(editor.home.resolve("etc"))) {
            assertFalse("the edit went into the shared folder only",
                    s.anyMatch(p -> p.getFileName().toString().equals(file.getFileName().toString())));
        }

        // the file deleted: the item goes on every node
        Files.delete(file);
        long t2 = System.nanoTime();
        for (Node n : running()) {
            await(n.id + " drops " + id).atMost(left(t2, 5), TimeUnit.NANOSECONDS).pollDelay(0, TimeUnit.MILLISECONDS)
                    .pollInterval(100, TimeUnit.MILLISECONDS).ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> n.get("api/connections/" + id).statusCode() == 404);
        }
    }

    @Test
    public void step3_fiftyFiresFromEveryNodeAtOnceMakeOneFiringAndOneFollowUp() throws Exception {
        String id = "flight";
        // a firing that stays online until every request has been answered: its post-connect command waits for a
        // file the test writes then (a follow-up finds the file there and goes on at once)
        Path release = root.resolve(id + ".release");
        Files.deleteIfExists(release);
        writeItem("connection", id, "name = Flight\nmethod = network\ncommands.postConnect = while [ ! -e '" + release
                + "' ]; do sleep 0.1; done\ncommands.timeout = 180s\n");
        awaitOnAll(id);
        List<Node> all = running();
        String first = firingIds(all.get(0).uplinkOk("connection:fire", id)).get(0);
        await("the first firing runs").atMost(60, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
                .ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> !all.get(0).get("api/connections/" + id).body().contains("\"state\":\"IDLE\""));

        // 49 more requests, spread over every node, all at once
        List<CompletableFuture<String>> calls = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            int count = 49 / all.size() + (i < 49 % all.size() ? 1 : 0);
            Node n = all.get(i);
            String cmd = "connection:fire" + (" " + id).repeat(count);
            calls.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return n.uplinkOk(cmd);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        java.util.Set<String> followUps = new java.util.TreeSet<>();
        for (CompletableFuture<String> c : calls) {
            followUps.addAll(firingIds(c.get(120, TimeUnit.SECONDS)));
        }
        assertFalse("the first firing still runs when every request was answered",
                all.get(0).get("api/connections/" + id).body().contains("\"state\":\"IDLE\""));
        Files.writeString(release, "");
        String history = awaitHistory(all.get(all.size() - 1), id, 2, Duration.ofSeconds(90));
        assertFalse("the 49 requests made while the first firing ran join no firing in progress: " + followUps
                + "\n" + history, followUps.contains(first));
        assertEquals("the 49 requests made while the first firing ran make one follow-up: " + followUps + "\n" + history,
                1, followUps.size());
        for (Node n : all) {
            await(id + " idle on " + n.id).atMost(60, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
                    .ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> n.get("api/connections/" + id).body().contains("\"state\":\"IDLE\""));
        }
        history = all.get(0).uplinkOk("connection:history", id);
        List<String> ran = historyRows(history, id);
        assertEquals("one firing and one follow-up in the cluster's history:\n" + history, 2, ran.size());
        assertTrue(history, history.contains(first) && history.contains(followUps.iterator().next()));
    }

    // ------------------------------------------------------------------ item and history helpers

    private static void writeItem(String kind, String id, String body) throws IOException {
        Path tmp = shared.resolve(".io.uplink." + kind + "-" + id + ".tmp");
        Files.writeString(tmp, body);
        Files.move(tmp, shared.resolve("io.uplink." + kind + "-" + id + ".cfg"), StandardCopyOption.ATOMIC_MOVE);
    }

    /** Every node knows the connection and has it IDLE. */
    private static void awaitOnAll(String id) {
        for (Node n : running()) {
            await(id + " live on " + n.id).atMost(60, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
                    .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                        HttpResponse<String> r = n.get("api/connections/" + id);
                        return r.statusCode() == 200 && r.body().contains("\"state\":\"IDLE\"");
                    });
        }
    }

    private static List<String> firingIds(String fireOutput) {
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^fired \\S+ as (\\S+)\\s*$").matcher(fireOutput);
        while (m.find()) {
            ids.add(m.group(1));
        }
        assertFalse("connection:fire printed firing ids:\n" + fireOutput, ids.isEmpty());
        return ids;
    }

    /** The rows of connection:history for one connection. */
    private static List<String> historyRows(String history, String id) {
        List<String> rows = new ArrayList<>();
        Pattern row = Pattern.compile("^\\s*\\S+\\s*\\|\\s*" + Pattern.quote(id) + "\\s*\\|.*$", Pattern.MULTILINE);
        Matcher m = row.matcher(history);
        while (m.find()) {
            rows.add(m.group());
        }
        return rows;
    }

    private static String awaitHistory(Node n, String id, int rows, Duration within) {
        String[] last = {""};
        await(rows + " firings of " + id + " in the history on " + n.id).atMost(within.toSeconds(), TimeUnit.SECONDS)
                .pollInterval(500, TimeUnit.MILLISECONDS).until(() -> {
                    last[0] = n.uplinkOk("connection:history", id);
                    return historyRows(last[0], id).size() >= rows;
                });
        return last[0];
    }

    @Test
    public void step4_aPausedNodeThatResumesAfterTheTakeoverCommitsAndDeletesNothing() throws Exception {
        takeover("pause", true, 300);
    }

    @Test
    public void step5_whenTheNodeThatRanTheLastSlotDiesTheNextSlotFiresOnceOnAnother() throws Exception {
        String id = "slot";
        writeItem("connection", id, "name = Slot\nmethod = network\n");
        awaitOnAll(id);
        Instant armed = Instant.now();
        writeItem("schedule", id, "connections = " + id + "\nevery = 10s\n");
        try {
            Node any = running().get(0);
            List<Map<String, Object>> fired = awaitScheduled(any, id, armed, 1, Duration.ofSeconds(60));
            Node victim = byId(String.valueOf(fired.get(0).get("node")));
            Instant killed = Instant.now();
            victim.kill();
            Node survivor = running().get(0);
            // the next slot after the kill, and the one after it, so that a late second firing of the first shows
            List<Map<String, Object>> after = awaitScheduled(survivor, id, killed, 2, Duration.ofSeconds(60));
            Map<Instant, Integer> perSlot = new java.util.TreeMap<>();
            for (Map<String, Object> f : scheduled(survivor, id, armed)) {
                perSlot.merge(slotOf(Instant.parse(String.valueOf(f.get("started")))), 1, Integer::sum);
            }
            String text = String.valueOf(scheduled(survivor, id, armed));
            assertTrue("every slot fired once: " + perSlot + "\n" + text, perSlot.values().stream().allMatch(n -> n == 1));
            Map<String, Object> next = after.get(after.size() - 1);
            assertTrue("the slot after the kill fired on a node still running, not on " + victim.id + ": " + text,
                    !victim.id.equals(next.get("node")) && "OK".equals(String.valueOf(next.get("outcome"))));
        } finally {
            Files.deleteIfExists(shared.resolve("io.uplink.schedule-" + id + ".cfg"));
        }
    }

    /** The scheduled firings of a connection started at or after {@code since}, oldest first. */
    private static List<Map<String, Object>> scheduled(Node n, String id, Instant since) throws Exception {
        HttpResponse<String> r = n.get("api/history?connection=" + id + "&limit=1000");
        assertEquals(r.body(), 200, r.statusCode());
        List<Map<String, Object>> all = new Json().toType(r.body(), Json.LIST_OF_MAPS_TYPE);
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> f : all) {
            if (String.valueOf(f.get("cause")).startsWith("schedule:")
                    && !Instant.parse(String.valueOf(f.get("started"))).isBefore(since)) {
                out.add(0, f);
            }
        }
        return out;
    }

    private static List<Map<String, Object>> awaitScheduled(Node n, String id, Instant since, int count, Duration within) {
        List<List<Map<String, Object>>> last = new ArrayList<>(List.of(List.of()));
        await(count + " scheduled firings of " + id + " since " + since + " on " + n.id)
                .atMost(within.toSeconds(), TimeUnit.SECONDS).pollInterval(500, TimeUnit.MILLISECONDS)
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                    last.set(0, scheduled(n, id, since));
                    return last.get(0).size() >= count;
                });
        return last.get(0);
    }

    /** The 10-second slot a scheduled firing belongs to (it starts within seconds after its slot). */
    private static Instant slotOf(Instant started) {
        long s = started.getEpochSecond();
        return Instant.ofEpochSecond(s - Math.floorMod(s, 10));
    }

    private static Node byId(String id) {
        return nodes.stream().filter(n -> n.id.equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no node " + id));
    }

    @Test
    public void step6_aNodeKilledWhileCollectingHandsOverWithNothingLostOrDoubled() throws Exception {
        takeover("kill", false, 300);
    }

    /** The firing in the history that says it took over a firing of node {@code from}, or {@code null}. */
    private static Map<String, Object> takenOver(Node n, String id, String from) throws Exception {
        HttpResponse<String> r = n.get("api/history?connection=" + id + "&limit=1000");
        assertEquals(r.body(), 200, r.statusCode());
        List<Map<String, Object>> firings = new Json().toType(r.body(), Json.LIST_OF_MAPS_TYPE);
        for (Map<String, Object> f : firings) {
            String summary = String.valueOf(f.get("summary"));
            if (summary.contains("took over firing") && summary.contains("of node " + from) && !from.equals(f.get("node"))) {
                return f;
            }
        }
        return null;
    }

    /**
     * 320 messages on the POP3 server and {@code queued} in the outbox; the firing's collector session is held at its 150th
     * RETR; the node running it is killed (or stopped); another node must finish the firing.
     */
    private void takeover(String id, boolean pause, int queued) throws Exception {
        int onServer = 320;
        GreenMail mail = greenMail();
        GreenMailUser user = mail.setUser(id + "@example.com", id, "pw");
        for (int i = 0; i < onServer; i++) {
            deliver(user, id + " in " + i);
        }
        Session session = Session.getInstance(new Properties());
        if (queued > 0) {
            try (Transport t = session.getTransport("smtp")) {
                t.connect("127.0.0.1", running().get(0).submission, null, null);
                for (int i = 0; i < queued; i++) {
                    MimeMessage m = new MimeMessage(session);
                    m.setFrom("carol@office.test");
                    m.setRecipients(jakarta.mail.Message.RecipientType.TO, id + "-out@example.net");
                    m.setSubject(id + " out " + i);
                    m.setHeader("Message-ID", "<" + id + ".out." + i + "@test>");
                    m.setText("queued " + i + "\n");
                    m.saveChanges();
                    m.setHeader("Message-ID", "<" + id + ".out." + i + "@test>");
                    t.sendMessage(m, m.getAllRecipients());
                }
            }
        }
        try (GateProxy proxy = new GateProxy(new InetSocketAddress("127.0.0.1", mail.getPop3().getPort()),
                nth(150, l -> l.startsWith("C: RETR ")))) {
            writeItem("sender", id, "hosts = 127.0.0.1:" + mail.getSmtp().getPort() + "\nsecurity = none\n");
            writeItem("collector", id, "connections = " + id + "\nprotocol = pop3\nhost = 127.0.0.1\nport = "
                    + proxy.port() + "\nsecurity = none\nusername = " + id + "\npassword = pw\ndeliverTo = " + id
                    + "\nleaveOnServer.days = 0\n");
            writeItem("connection", id, "name = " + id + "\nmethod = network\nsender = " + id + "\n");
            awaitOnAll(id);
            Node firer = running().get(0);
            firer.uplinkOk("connection:fire", id);
            String held = proxy.awaitHeld(180, TimeUnit.SECONDS);
            assertTrue("the firing reached the 150th RETR\n" + firer.uplink("connection:history", id)[1],
                    held != null);
            Node runner = nodeConnectedTo(proxy.port());
            Path box = mailboxes.resolve(id).resolve("new");
            int before = count(box);
            assertTrue(runner.id + " stored some messages before it " + (pause ? "stopped" : "died") + ": " + before,
                    before > 0 && before < onServer);
            long t0 = System.nanoTime();
            if (pause) {
                runner.signal("STOP");
            } else {
                runner.kill();
            }
            Node other = running().stream().filter(n -> n != runner).findFirst().orElseThrow();
            // failure detection (set in startCluster: 2 x checkin.interval 3s when killed, fence.timeout 6s when
            // paused) plus the time of a whole firing of 320 + 300 messages on this loaded machine
            long bound = 6 + 90;
            await("another node finishes the firing").atMost(bound, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
                    .ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> count(box) >= onServer && inbox(user) == 0 && sent(id) >= queued
                            && takenOver(other, id, runner.id) != null);
            double took = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> takeover = takenOver(other, id, runner.id);
            assertEquals("the firing that took over ended OK: " + takeover, "OK", String.valueOf(takeover.get("outcome")));
            String history = other.uplinkOk("connection:history", id);
            List<GateProxy.Line> beforeResume = proxy.lines();
            if (pause) {
                runner.signal("CONT");
                proxy.release();
                await("the resumed node's session ends").atMost(120, TimeUnit.SECONDS)
                        .pollInterval(200, TimeUnit.MILLISECONDS).until(() -> proxy.ended(1));
                await(id + " idle on the resumed " + runner.id).atMost(120, TimeUnit.SECONDS)
                        .pollInterval(200, TimeUnit.MILLISECONDS).ignoreExceptionsInstanceOf(IOException.class)
                        .until(() -> runner.get("api/connections/" + id).body().contains("\"state\":\"IDLE\""));
                List<GateProxy.Line> after = proxy.lines().subList(beforeResume.size(), proxy.lines().size());
                assertTrue("the resumed node deleted nothing: " + after, after.stream()
                        .noneMatch(l -> l.session() == 1 && l.text().startsWith("C: DELE")));
            }
            Map<String, Integer> subjects = subjects(box);
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < onServer; i++) {
                Integer n = subjects.get(id + " in " + i);
                if (n == null || n != 1) {
                    wrong.add(i + " x" + (n == null ? 0 : n));
                }
            }
            assertTrue("every collected message in the Maildir exactly once; wrong: " + wrong, wrong.isEmpty());
            assertEquals("nothing else in the Maildir", onServer, subjects.values().stream().mapToInt(Integer::intValue).sum());
            assertEquals("the server is empty", 0, inbox(user));
            Map<String, Integer> out = received(id);
            List<String> missing = new ArrayList<>();
            List<String> twice = new ArrayList<>();
            for (int i = 0; i < queued; i++) {
                int n = out.getOrDefault(id + " out " + i, 0);
                if (n == 0) {
                    missing.add(String.valueOf(i));
                } else if (n > 1) {
                    twice.add(i + " x" + n);
                }
            }
            assertTrue("every queued message reached the SMTP server; missing " + missing, missing.isEmpty());
            assertTrue("at most the in-flight message twice: " + twice, twice.size() <= 1
                    && twice.stream().noneMatch(t -> !t.endsWith(" x2")));
            System.out.println("ClusterIT " + id + ": " + runner.id + " " + (pause ? "stopped" : "killed") + " after "
                    + before + " stored; another node finished in " + String.format("%.1f", took) + " s\n" + history);
        }
    }

    // ------------------------------------------------------------------ mail helpers

    private static synchronized GreenMail greenMail() {
        if (greenMail == null) {
            // TCP_NODELAY on the POP3 sessions, as a real server has (NoDelayGreenMail)
            greenMail = new NoDelayGreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP),
                new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
            greenMail.start();
        }
        return greenMail;
    }

    private static void deliver(GreenMailUser user, String subject) throws Exception {
        String m = "From: someone@example.net\r\nTo: " + user.getEmail() + "\r\nSubject: " + subject
                + "\r\nMessage-ID: <" + subject.replace(' ', '.') + "@test>\r\n\r\n" + ("line of " + subject + "\r\n").repeat(40);
        user.deliver(new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(m.getBytes(StandardCharsets.US_ASCII))));
    }

    private static int inbox(GreenMailUser user) throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount();
    }

    /** How often each queued Subject of this test reached the SMTP server. */
    private static Map<String, Integer> received(String id) throws Exception {
        Map<String, Integer> out = new HashMap<>();
        for (MimeMessage m : greenMail.getReceivedMessagesForDomain("example.net")) {
            String subject = m.getSubject();
            if (subject != null && subject.startsWith(id + " out ")) {
                out.merge(subject, 1, Integer::sum);
            }
        }
        return out;
    }

    private static int sent(String id) throws Exception {
        return received(id).size();
    }

    /** The node whose JVM holds a connection to a local port (ss -tnp). */
    private static Node nodeConnectedTo(int port) throws Exception {
        Process p = new ProcessBuilder("ss", "-tnpH", "state", "established", "dst", "127.0.0.1:" + port)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        for (Node n : nodes) {
            if (out.contains("pid=" + n.pid + ",")) {
                return n;
            }
        }
        throw new AssertionError("no node is connected to port " + port + ":\n" + out);
    }

    private static Predicate<String> nth(int n, Predicate<String> line) {
        int[] seen = {0};
        return l -> line.test(l) && ++seen[0] == n;
    }

    /** Every node's REST API shows the connection with that name within 5 s of {@code since}. */
    private static void awaitNameOnAll(String id, String name, long since) {
        for (Node n : running()) {
            await("connection " + id + " named " + name + " on " + n.id).atMost(left(since, 5), TimeUnit.NANOSECONDS)
                    .pollDelay(0, TimeUnit.MILLISECONDS)
                    .pollInterval(100, TimeUnit.MILLISECONDS).ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> {
                        HttpResponse<String> r = n.get("api/connections/" + id);
                        return r.statusCode() == 200 && r.body().contains("\"name\":\"" + name + "\"");
                    });
        }
    }

    /** The nanoseconds left until {@code seconds} after {@code since} (at least 1 ms, so one look is made). */
    private static long left(long since, int seconds) {
        return Math.max(1_000_000L, since + seconds * 1_000_000_000L - System.nanoTime());
    }

    // ------------------------------------------------------------------ the nodes as processes

    /** One node: a home made by bin/uplink-cluster-node, its JVM started with {@code bin/karaf daemon}. */
    static final class Node {
        final String id;
        final Path home;
        final int ssh;
        final int http;
        int submission;
        private long pid = -1;

        Node(String id, Path home, int ssh) throws IOException {
            this.id = id;
            this.home = home;
            this.ssh = ssh;
            this.http = free();
        }

        void start() throws Exception {
            Files.deleteIfExists(home.resolve("karaf.pid"));
            Process launcher = DistributionProcess.karaf(home);
            // bin/karaf daemon runs the JVM as its child and writes its pid into karaf.pid
            Path pidFile = home.resolve("karaf.pid");
            await(id + " writes karaf.pid").atMost(60, TimeUnit.SECONDS).pollInterval(100, TimeUnit.MILLISECONDS)
                    .until(() -> {
                        assertTrue(id + " ended while starting\n" + log(), launcher.isAlive() || Files.exists(pidFile));
                        return Files.exists(pidFile) && !Files.readString(pidFile).isBlank();
                    });
            pid = Long.parseLong(Files.readString(pidFile).trim());
        }

        /** Waits until the node answers on its shell and its cluster:nodes lists every running node. */
        void awaitUp() {
            await(id + " up and checked in").atMost(BOOT.toSeconds(), TimeUnit.SECONDS).pollInterval(1, TimeUnit.SECONDS)
                    .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                assertTrue(id + " ended while starting\n" + log(), alive());
                String[] r = uplink("cluster:nodes");
                if (!r[0].equals("0")) {
                    return false;
                }
                for (Node n : nodes) {
                    if (n.alive() && !Pattern.compile("(?m)^\\s*" + n.id + "( \\(this node\\))?\\s*\\|[^|]*\\|\\s*alive\\s*\\|")
                            .matcher(r[1]).find()) {
                        return false;
                    }
                }
                return get("api/").statusCode() == 200;
            });
        }

        boolean alive() {
            return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }

        /** SIGKILL, and waits until the JVM is gone. */
        void kill() {
            ProcessHandle h = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError(id + " is not running"));
            h.destroyForcibly();
            h.onExit().orTimeout(60, TimeUnit.SECONDS).join();
        }

        void killQuietly() {
            if (pid > 0) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }

        /** Sends a signal by name (STOP, CONT, ...). */
        void signal(String name) throws Exception {
            if (pid > 0) {
                Process p = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).redirectErrorStream(true).start();
                assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            }
        }

        String uplinkOk(String... args) throws Exception {
            String[] r = uplink(args);
            assertEquals(id + ": bin/uplink " + String.join(" ", args) + ":\n" + r[1], "0", r[0]);
            return r[1];
        }

        /** Runs {@code bin/uplink args...} with stdin closed; returns {exit status, output}. */
        String[] uplink(String... args) throws Exception {
            return DistributionProcess.uplink(home, args);
        }

        HttpResponse<String> get(String path) throws Exception {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/uplink/" + path))
                    .timeout(Duration.ofSeconds(10))
                    .header("Authorization", "Basic " + Base64.getEncoder()
                            .encodeToString("karaf:karaf".getBytes(StandardCharsets.UTF_8)))
                    .GET().build();
            return ClusterIT.http.send(req, HttpResponse.BodyHandlers.ofString());
        }

        String log() {
            return DistributionProcess.log(home);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Unpacks the assembly the reactor built. */
    private static Path unpack(Path into) throws Exception {
        Path tarGz = Path.of(URI.create(System.getProperty("uplink.distribution")));
        Path dir = into.resolve("dist");
        Files.createDirectories(dir);
        run(List.of("tar", "xzf", tarGz.toString(), "-C", dir.toString()), dir);
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
    }

    private static void run(List<String> cmd, Path dir) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(String.join(" ", cmd) + " did not end", p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(String.join(" ", cmd) + ":\n" + out, 0, p.exitValue());
    }

    private static int free() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
