package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;

/**
 * The REST API and the page of the uplink-web feature, over real HTTP from inside the distribution:
 * authentication and roles, CSRF rule, list, fire, hang up, history, outbox, the SSE stream, error notices.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class WebRestIT extends UplinkTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    protected ConnectionService connections;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Path> written = new ArrayList<>();

    @After
    public void removeWrittenFiles() throws Exception {
        for (Path p : written) {
            Files.deleteIfExists(p);
        }
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> connections.list().stream()
                .noneMatch(s -> s.id().startsWith("it-web")));
    }

    private void connection(String id, String body) throws Exception {
        written.add(writeCfg("io.uplink.connection-" + id + ".cfg", body));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> connections.status(id).isPresent()
                && connections.status(id).get().state() == ConnectionState.IDLE);
    }

    private String base() throws Exception {
        String port = getHttpPort();
        // the distribution listens on loopback only
        return "http://127.0.0.1:" + port + "/uplink/";
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private HttpRequest.Builder req(String path, String user, String password) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(20));
        if (user != null) {
            b.header("Authorization", basic(user, password));
        }
        return b;
    }

    private HttpResponse<String> get(String path, String user, String password) throws Exception {
        return send(req(path, user, password).GET());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return get(path, "karaf", "karaf");
    }

    private HttpResponse<String> postJson(String path, String user, String password) throws Exception {
        return send(req(path, user, password).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        // the web feature starts with the container; its first request may come before Jetty listens
        return await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> http.send(b.build(), HttpResponse.BodyHandlers.ofString()), r -> r != null);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":\"([^\"]*)\"").matcher(json);
        return m.find() ? m.group(1) : null;
    }

    @Test
    public void withoutOrWithAWrongLoginItIs401() throws Exception {
        HttpResponse<String> r = get("api/connections", null, null);
        assertEquals(401, r.statusCode());
        assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Basic realm=\"Uplink\""));
        assertTrue(r.body(), r.body().contains("\"error\":"));
        assertEquals(401, get("api/connections", "karaf", "wrong").statusCode());
        assertEquals(401, get("", null, null).statusCode());
    }

    @Test
    public void listAndOneConnectionWithoutSecrets() throws Exception {
        connection("it-web-list", "name = Web list\nmethod = network\ndefault = false\nnetwork.secret = s3cr3t-value\n");
        HttpResponse<String> r = get("api/connections");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        assertTrue(r.body(), r.body().contains("\"id\":\"it-web-list\",\"name\":\"Web list\",\"method\":\"network\""));
        assertFalse("no secret in any response", r.body().contains("s3cr3t-value"));
        HttpResponse<String> one = get("api/connections/it-web-list");
        assertEquals(200, one.statusCode());
        assertEquals("IDLE", field(one.body(), "state"));
        assertTrue(one.body().contains("\"network.secret\":\"********\""));
        assertFalse(one.body().contains("s3cr3t-value"));
    }

    @Test
    public void unknownIs404WrongMethodIs405() throws Exception {
        HttpResponse<String> r = get("api/connections/it-web-nope");
        assertEquals(404, r.statusCode());
        assertEquals("connection 'it-web-nope' is not configured", field(r.body(), "error"));
        assertEquals(404, postJson("api/connections/it-web-nope/fire", "karaf", "karaf").statusCode());
        assertEquals(404, get("api/history?connection=it-web-nope").statusCode());
        assertEquals(404, get("api/nothing-here").statusCode());

        HttpResponse<String> getFire = get("api/connections/it-web-nope/fire");
        assertEquals(405, getFire.statusCode());
        assertEquals("POST", getFire.headers().firstValue("Allow").orElse(""));
        HttpResponse<String> postList = postJson("api/connections", "karaf", "karaf");
        assertEquals(405, postList.statusCode());
        assertTrue(postList.body().contains("\"error\":\"use GET here\""));
    }

    @Test
    public void aViewerReadsButMayNotFireAndAFormPostIsRefused() throws Exception {
        connection("it-web-ro", "method = network\n");
        assertEquals(200, get("api/connections", "viewer", "viewer").statusCode());
        int before = connections.history("it-web-ro", 100).size();
        HttpResponse<String> r = postJson("api/connections/it-web-ro/fire", "viewer", "viewer");
        assertEquals(403, r.statusCode());
        assertEquals("user 'viewer' lacks the role 'admin'", field(r.body(), "error"));
        assertEquals(403, postJson("api/connections/it-web-ro/hangup", "viewer", "viewer").statusCode());

        // what a cross-site HTML form can send: no JSON type, no token header
        HttpResponse<String> form = send(req("api/connections/it-web-ro/fire", "karaf", "karaf")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("a=b")));
        assertEquals(403, form.statusCode());
        assertTrue(form.body(), form.body().contains("X-Uplink-Token"));
        assertEquals("nothing fired", before, connections.history("it-web-ro", 100).size());
        assertEquals(ConnectionState.IDLE, connections.status("it-web-ro").get().state());

        // the token header alone is enough for a script of the same origin
        HttpResponse<String> token = send(req("api/connections/it-web-ro/fire", "karaf", "karaf")
                .header("X-Uplink-Token", "x").POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(202, token.statusCode());
        String firing = field(token.body(), "firing");
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.history("it-web-ro", 10).stream()
                .anyMatch(h -> h.firingId().equals(firing)));
    }

    @Test
    public void aBadLimitIsA400WithAJsonErrorNamingIt() throws Exception {
        for (String path : List.of("api/history", "api/schedule/next")) {
            HttpResponse<String> word = get(path + "?limit=abc");
            assertEquals(path + ": " + word.body(), 400, word.statusCode());
            assertEquals("limit must be a number, got 'abc'", field(word.body(), "error"));

            HttpResponse<String> huge = get(path + "?limit=99999999999");
            assertEquals(path + ": " + huge.body(), 400, huge.statusCode());
            String error = field(huge.body(), "error");
            assertTrue(huge.body(), error != null && error.startsWith("limit must be between 1 and ")
                    && error.endsWith("got '99999999999'"));

            assertEquals(400, get(path + "?limit=-1").statusCode());
        }
    }

    @Test
    public void fireThenHistoryShowsPhasesAndCause() throws Exception {
        connection("it-web-fire", "name = Web fire\nmethod = network\n");
        HttpResponse<String> r = postJson("api/connections/it-web-fire/fire", "karaf", "karaf");
        assertEquals(202, r.statusCode());
        String firing = field(r.body(), "firing");
        assertNotNull(r.body(), firing);
        await().atMost(30, TimeUnit.SECONDS).until(() -> get("api/history?connection=it-web-fire&limit=5").body().contains(firing));
        String h = get("api/history?connection=it-web-fire&limit=5").body();
        assertEquals("OK", field(h, "outcome"));
        assertEquals("web:karaf", field(h, "cause"));
        assertTrue(h, h.contains("\"phase\":\"CONNECT\""));
        assertTrue(h, h.contains("\"phase\":\"DISCONNECT\""));
        assertTrue(h.contains("\"durationMs\":"));
        assertEquals(400, get("api/history?limit=0").statusCode());

        String one = get("api/connections/it-web-fire").body();
        assertTrue(one, one.contains("\"lastResult\":{\"firing\":\"" + firing + "\""));

        // the activity log of the connection, through the API and the shell
        String log = get("api/connections/it-web-fire/log").body();
        assertTrue(log, log.contains("FIRED [" + firing + "] fired by web:karaf"));
        assertTrue(log, log.contains("DISCONNECTED [" + firing + "] disconnected, OK"));
        String shell = executeCommand("connection:log it-web-fire", new RolePrincipal("admin"), new RolePrincipal("viewer"));
        assertTrue(shell, shell.contains("DISCONNECTED [" + firing + "]"));
        assertTrue(Files.isRegularFile(Path.of(System.getProperty("karaf.data"), "uplink", "log", "it-web-fire.log")));
    }

    @Test
    public void fireDefaultsFiresEveryDefault() throws Exception {
        connection("it-web-d1", "method = network\ndefault = true\n");
        HttpResponse<String> r = postJson("api/connections/defaults/fire", "karaf", "karaf");
        assertEquals(202, r.statusCode());
        assertTrue(r.body(), r.body().contains("\"connection\":\"it-web-d1\""));
        String firing = field(r.body().substring(r.body().indexOf("it-web-d1") - 40), "firing");
        assertNotNull(firing);
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.history("it-web-d1", 10).stream()
                .anyMatch(h -> h.firingId().equals(firing) && h.cause().startsWith("web:")));
    }

    @Test
    public void hangupStopsARunningFiringAfterTheStepInProgress() throws Exception {
        connection("it-web-hang", "method = network\ncommands.postConnect = sleep 3\n");
        HttpResponse<String> r = postJson("api/connections/it-web-hang/fire", "karaf", "karaf");
        String firing = field(r.body(), "firing");
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> "ONLINE".equals(field(get("api/connections/it-web-hang").body(), "state")));
        HttpResponse<String> h = postJson("api/connections/it-web-hang/hangup", "karaf", "karaf");
        assertEquals(200, h.statusCode());
        assertTrue(h.body(), h.body().contains("\"hungUp\":true"));
        await().atMost(30, TimeUnit.SECONDS).until(() -> connections.history("it-web-hang", 5).stream()
                .anyMatch(x -> x.firingId().equals(firing)));
        FiringResult result = connections.history("it-web-hang", 5).stream()
                .filter(x -> x.firingId().equals(firing)).findFirst().get();
        assertNotEquals(Outcome.OK, result.outcome());
        assertTrue(result.errors().toString(), String.join(";", result.errors()).contains("hung up by request"));
        // the command in progress ran to its end; nothing was sent or collected after it
        assertFalse(result.phases().toString(), result.phases().stream().anyMatch(p -> p.phase() == Phase.SEND && p.ok()));
        String h2 = get("api/history?connection=it-web-hang&limit=1").body();
        assertTrue(h2, h2.contains("hung up by request"));
        assertTrue(get("api/connections/it-web-hang/hangup").body().contains("use POST here"));
    }

    @Test
    public void theStreamDeliversTheFiringsEventsInOrder() throws Exception {
        connection("it-web-sse", "name = Streamed\nmethod = network\ncommands.postConnect = true\n");
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        HttpResponse<Stream<String>> stream = http.send(req("api/events?connection=it-web-sse", "viewer", "viewer")
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, stream.statusCode());
        assertTrue(stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        Thread reader = new Thread(() -> {
            try {
                stream.body().forEach(lines::add);
            } catch (UncheckedIOException e) {
                // the test closed the stream when it had seen enough
            }
        }, "sse-reader");
        reader.setDaemon(true);
        reader.start();
        try {
            assertEquals("retry: 3000", lines.poll(10, TimeUnit.SECONDS));
            assertEquals(": connected", lines.poll(10, TimeUnit.SECONDS));

            String firing = field(postJson("api/connections/it-web-sse/fire", "karaf", "karaf").body(), "firing");
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!seen.contains("DISCONNECTED") && System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line == null || !line.startsWith("data: ")) {
                    continue;
                }
                assertEquals("only the chosen connection", "it-web-sse", field(line, "connection"));
                assertEquals(firing, field(line, "firing.id"));
                String type = field(line, "type");
                if (type.equals("PHASE")) {
                    seen.add("PHASE " + field(line, "phase"));
                } else if (!type.equals("PROGRESS")) {
                    seen.add(type);
                }
            }
            assertEquals(List.of("FIRED", "PHASE CONNECT", "CONNECTED", "PHASE POST_CONNECT", "PHASE SEND",
                    "PHASE COLLECT", "PHASE DISCONNECT", "DISCONNECTED"), seen);
        } finally {
            stream.body().close();
        }
    }

    @Test
    public void outboxAndAnErrorNoticeQueuedThroughIt() throws Exception {
        ServiceReference<Outbox> ref = bundleContext.getServiceReference(Outbox.class);
        Outbox outbox = bundleContext.getService(ref);
        Configuration core = configurationAdmin.getConfiguration("io.uplink.core", null);
        Dictionary<String, Object> saved = core.getProperties();
        try {
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> get("api/outbox").statusCode() == 200);
            assertEquals(outbox.size(), Integer.parseInt(
                    get("api/outbox").body().replaceFirst("(?s)^.*?\"size\":(\\d+).*$", "$1")));

            Hashtable<String, Object> props = new Hashtable<>();
            if (saved != null) {
                for (var keys = saved.keys(); keys.hasMoreElements();) {
                    String k = keys.nextElement();
                    props.put(k, saved.get(k));
                }
            }
            props.put("notify.to", "it-admin@example.net");
            core.update(props);
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> get("api/").body().contains("it-admin@example.net"));

            int closed;
            try (ServerSocket s = new ServerSocket(0)) {
                closed = s.getLocalPort();
            }
            connection("it-web-fail", "name = Broken router\nmethod = network\nnetwork.probe = 127.0.0.1:" + closed
                    + "\nnetwork.probe.timeout = 2s\n");
            String firing = field(postJson("api/connections/it-web-fail/fire", "karaf", "karaf").body(), "firing");
            await().atMost(30, TimeUnit.SECONDS).until(() -> notice(outbox).isPresent());
            QueuedMessage q = notice(outbox).get();
            String text = new String(outbox.open(q.id()).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text, text.contains("Subject: Uplink: connection Broken router ('it-web-fail') FAILED in CONNECT"));
            assertTrue(text, text.contains("Firing:     " + firing));
            outbox.delete(q.id());

            // the same error again at once is held back (notify.repeat 1h)
            String again = field(postJson("api/connections/it-web-fail/fire", "karaf", "karaf").body(), "firing");
            await().atMost(30, TimeUnit.SECONDS).until(() -> get("api/connections/it-web-fail/log").body().contains("held back"));
            assertFalse(notice(outbox).isPresent());
            String log = get("api/connections/it-web-fail/log").body();
            assertTrue(log, log.contains("FAILED [" + again + "] FAILED in CONNECT"));
        } finally {
            if (saved == null) {
                core.delete();
            } else {
                core.update(saved);
            }
            bundleContext.ungetService(ref);
        }
    }

    private HttpResponse<String> delete(String path, String user, String password) throws Exception {
        return send(req(path, user, password).header("X-Uplink-Token", "it").DELETE());
    }

    @Test
    public void theOutboxAndItsFailedFolderFromTheApi() throws Exception {
        ServiceReference<Outbox> ref = bundleContext.getServiceReference(Outbox.class);
        Outbox outbox = bundleContext.getService(ref);
        try {
            QueuedMessage q = outbox.queue("it-rest@example.org", List.of("somebody@example.net"), new java.io.ByteArrayInputStream(
                    "From: it-rest@example.org\r\nTo: somebody@example.net\r\nSubject: rest\r\n\r\nx\r\n".getBytes(StandardCharsets.UTF_8)));
            String box = get("api/outbox").body();
            assertTrue(box, box.contains("\"id\":\"" + q.id() + "\""));
            assertTrue(box, box.contains("\"failed\":["));
            assertEquals(200, postJson("api/outbox/" + q.id() + "/retry", "karaf", "karaf").statusCode());
            assertEquals(403, delete("api/outbox/" + q.id(), "viewer", "viewer").statusCode());
            assertEquals(405, postJson("api/outbox/" + q.id(), "karaf", "karaf").statusCode());
            assertEquals(200, delete("api/outbox/" + q.id(), "karaf", "karaf").statusCode());
            assertFalse(outbox.get(q.id()).isPresent());
            assertEquals(404, delete("api/outbox/" + q.id(), "karaf", "karaf").statusCode());

            // a message the outbox gave up on, as FileOutbox leaves it in failed/
            Path failed = Path.of(System.getProperty("karaf.data"), "uplink", "outbox", "failed");
            String id = "it-rest-failed-1";
            Files.writeString(failed.resolve(id + ".eml"), "From: it-rest@example.org\r\nTo: gone@example.net\r\n\r\nx\r\n");
            Files.writeString(failed.resolve(id + ".state"), "from=it-rest@example.org\nqueued=2026-11-01T08:00:00Z\nsize=48\n"
                    + "attempts=1\nfailedAt=2026-11-01T09:00:00Z\nrcpt.0=gone@example.net\nrcpt.0.state=FAILED\n"
                    + "rcpt.0.reply=550 5.1.1 no such user\n");
            box = get("api/outbox").body();
            assertTrue(box, box.contains("\"id\":\"" + id + "\""));
            assertTrue(box, box.contains("\"gone@example.net\":\"550 5.1.1 no such user\""));
            assertEquals(403, postJson("api/outbox/failed/" + id + "/requeue", "viewer", "viewer").statusCode());
            HttpResponse<String> r = postJson("api/outbox/failed/" + id + "/requeue", "karaf", "karaf");
            assertEquals(r.body(), 200, r.statusCode());
            String queued = field(r.body(), "queued");
            assertEquals(List.of("gone@example.net"), outbox.get(queued).orElseThrow().pending());
            assertFalse(Files.exists(failed.resolve(id + ".state")));
            assertEquals(404, postJson("api/outbox/failed/" + id + "/requeue", "karaf", "karaf").statusCode());
            outbox.delete(queued);
        } finally {
            bundleContext.ungetService(ref);
        }
    }

    @Test
    public void theScheduleIsPausedAndResumedFromTheApi() throws Exception {
        assertEquals(403, postJson("api/schedule/pause", "viewer", "viewer").statusCode());
        try {
            HttpResponse<String> r = postJson("api/schedule/pause", "karaf", "karaf");
            assertEquals(r.body(), 200, r.statusCode());
            assertTrue(r.body(), r.body().contains("\"paused\":true"));
            assertTrue(get("api/schedule/next").body().contains("\"paused\":true"));
            assertEquals(405, get("api/schedule/pause").statusCode());
        } finally {
            HttpResponse<String> r = postJson("api/schedule/resume", "karaf", "karaf");
            assertTrue(r.body(), r.body().contains("\"paused\":false"));
        }
    }

    @Test
    public void withoutNotifyToTheNoticeLandsInTheLocalPostmasterMailbox() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        connection("it-web-local", "name = Dead line\nmethod = network\nnetwork.probe = 127.0.0.1:" + closed
                + "\nnetwork.probe.timeout = 2s\n");
        String firing = field(postJson("api/connections/it-web-local/fire", "karaf", "karaf").body(), "firing");
        Path inbox = Path.of(System.getProperty("karaf.data"), "uplink", "mailboxes",
                "postmaster", "new");
        await().atMost(30, TimeUnit.SECONDS).until(() -> Files.isDirectory(inbox)
                && noticeFile(inbox, firing).isPresent());
        String text = Files.readString(noticeFile(inbox, firing).get());
        assertTrue(text, text.contains("Subject: Uplink: connection Dead line ('it-web-local') FAILED in CONNECT"));
        assertTrue(text, text.contains("To: postmaster@localhost"));
    }

    private static Optional<Path> noticeFile(Path dir, String firing) throws Exception {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                if (Files.readString(f).contains("Firing:     " + firing)) {
                    return Optional.of(f);
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<QueuedMessage> notice(Outbox outbox) {
        return outbox.list().stream().filter(m -> m.pending().contains("it-admin@example.net")).findFirst();
    }

    @Test
    public void thePageComesFromTheBundle() throws Exception {
        HttpResponse<String> page = get("");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<script src=\"app.js\""));
        assertFalse("no script from elsewhere", page.body().contains("http"));
        HttpResponse<String> js = get("app.js");
        assertEquals(200, js.statusCode());
        assertTrue(js.body().contains("new EventSource(BASE + 'events')"));
        assertTrue("request URLs without the login of the address", js.body().contains("const BASE = location.origin + "));
        assertTrue(js.body().contains("'X-Uplink-Token'"));
        assertEquals(200, get("app.css").statusCode());
        assertEquals(404, get("other.html").statusCode());
    }
}
