package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;
import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskState;
import io.uplink.api.mail.MailTaskStatus;

/**
 * Every item is checked when its file arrives through FileInstall, in the real distribution: a bad value for
 * every Mail Sender, Mail Collector and mail key gives ERROR (or one error line) naming the file and the key,
 * while the demo items keep working. And the metatype is the one list of keys: every key in the README tables
 * and in the shipped {@code etc/} files is in it, and every key in it is in both.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConfigValidationIT extends UplinkTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Pattern PIDS = Pattern.compile("io\\.uplink\\.(connection|sender|collector|schedule|core|mail|web|demo|submission|oauth2|cluster)\\b");
    /** A line of a shipped cfg file that sets (or shows, commented) a key. */
    private static final Pattern CFG_KEY = Pattern.compile("^#?\\s*([A-Za-z][A-Za-z0-9_.]*)\\s*=.*");
    private static final Pattern TICKED = Pattern.compile("`([A-Za-z][A-Za-z0-9_.<>]*)( = [^`]*)?`");

    /**
     * Keys for which no value is wrong on this branch: {@code minRate} is only read once session deadlines land
     * (checked there). Any other key without a bad value below fails the test, so a new key needs one.
     */
    /** Free text: any value is a good one. */
    private static final Set<String> NO_BAD_VALUE = Set.of("oauth2.clientSecret", "oauth2.scope");

    @Inject
    protected MetaTypeService metaTypes;

    @Inject
    protected MailTaskService mailTasks;

    @Inject
    protected ConnectionService connections;

    private final List<Path> written = new ArrayList<>();

    @Override
    protected Option[] extraOptions() {
        // the README of this checkout, for the one-source-of-truth check inside the container
        return new Option[] {editConfigurationFilePut("etc/system.properties", "uplink.readme",
                Path.of("..", "README.md").toAbsolutePath().normalize().toString())};
    }

    @After
    public void removeFiles() throws IOException {
        for (Path p : written) {
            Files.deleteIfExists(p);
        }
    }

    private void drop(String name, Map<String, String> keys) throws IOException {
        StringBuilder b = new StringBuilder();
        keys.forEach((k, v) -> b.append(k).append(" = ").append(v).append('\n'));
        written.add(writeCfg(name, b.toString()));
    }

    // ------------------------------------------------------------------ files FileInstall did not take in

    @Test
    public void anEditFileInstallCannotSeeIsLoggedAndTakenIn() throws Exception {
        org.osgi.service.cm.Configuration core = configurationAdmin.getConfiguration("io.uplink.core", null);
        java.util.Dictionary<String, Object> saved = core.getProperties();
        java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
        if (saved != null) {
            for (java.util.Enumeration<String> k = saved.keys(); k.hasMoreElements();) {
                String key = k.nextElement();
                props.put(key, saved.get(key));
            }
        }
        props.put("config.recheck", "2s");
        core.update(props);
        String name = "io.uplink.connection-it-unseen.cfg";
        try {
            Path f = writeCfg(name, "name = Unseen A\nmethod = network\n");
            written.add(f);
            await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> connections.status("it-unseen")
                    .map(s -> s.name().equals("Unseen A")).orElse(false));
            // FileInstall writes the file back once it took it in: wait until that is done
            long[] last = {-1};
            await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).pollInterval(1, TimeUnit.SECONDS).until(() -> {
                long m = Files.getLastModifiedTime(f).toMillis();
                boolean still = m == last[0];
                last[0] = m;
                return still;
            });
            // a copy that keeps times: same size, same modification time, so FileInstall's scanner sees no change
            java.nio.file.attribute.FileTime kept = Files.getLastModifiedTime(f);
            // a new file renamed over the old, so that FileInstall cannot read it half written
            Path copy = f.resolveSibling("." + name + ".tmp");
            Files.writeString(copy, "name = Unseen B\nmethod = network\n", StandardCharsets.UTF_8);
            Files.setLastModifiedTime(copy, kept);
            Files.move(copy, f, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> connections.status("it-unseen")
                    .map(s -> s.name().equals("Unseen B")).orElse(false));
            Path log = Path.of(System.getProperty("karaf.log"), "karaf.log");
            assertTrue(Files.readString(log).contains("etc/" + name + " was not taken in by FileInstall; applying it now"));
        } finally {
            if (saved == null) {
                core.delete();
            } else {
                core.update(saved);
            }
        }
    }

    // ------------------------------------------------------------------ one list of keys

    @Test
    public void everyKeyIsInTheMetatypeTheReadmeAndTheShippedFiles() throws IOException {
        Map<String, Set<String>> meta = metatypeKeys();
        assertEquals(Set.of("connection", "sender", "collector", "schedule", "core", "mail", "web", "demo", "submission", "oauth2"),
                meta.keySet());
        Map<String, Set<String>> readme = readmeKeys(Path.of(System.getProperty("uplink.readme")));
        Map<String, Set<String>> shipped = shippedKeys(etc());
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Set<String>> e : meta.entrySet()) {
            String pid = "io.uplink." + e.getKey();
            compare(wrong, pid, "the metatype", e.getValue(), "the README tables", readme.getOrDefault(e.getKey(), Set.of()));
            compare(wrong, pid, "the metatype", e.getValue(), "etc/" + pid + "*.cfg[.sample]",
                    shipped.getOrDefault(e.getKey(), Set.of()));
        }
        assertTrue(String.join("\n", wrong), wrong.isEmpty());
        // and config:meta shows them, as a user would look
        String shown = executeCommand("config:meta io.uplink.sender", new RolePrincipal("admin"),
                new RolePrincipal("manager"), new RolePrincipal("viewer"));
        for (String k : meta.get("sender")) {
            assertTrue(k + " in\n" + shown, shown.contains(k));
        }
    }

    private static void compare(List<String> wrong, String pid, String aName, Set<String> a, String bName, Set<String> b) {
        Set<String> onlyA = new TreeSet<>(a);
        onlyA.removeAll(b);
        Set<String> onlyB = new TreeSet<>(b);
        onlyB.removeAll(a);
        if (!onlyA.isEmpty()) {
            wrong.add(pid + ": in " + aName + " but not in " + bName + ": " + onlyA);
        }
        if (!onlyB.isEmpty()) {
            wrong.add(pid + ": in " + bName + " but not in " + aName + ": " + onlyB);
        }
    }

    private Map<String, Set<String>> metatypeKeys() {
        Map<String, Set<String>> out = new TreeMap<>();
        for (Bundle b : bundleContext.getBundles()) {
            if (!b.getSymbolicName().startsWith("io.uplink.")) {
                continue;
            }
            MetaTypeInformation info = metaTypes.getMetaTypeInformation(b);
            if (info == null) {
                continue;
            }
            List<String> pids = new ArrayList<>(List.of(info.getPids()));
            pids.addAll(List.of(info.getFactoryPids()));
            for (String pid : pids) {
                Matcher m = PIDS.matcher(pid);
                assertTrue("an Uplink PID: " + pid, m.matches());
                ObjectClassDefinition ocd = info.getObjectClassDefinition(pid, null);
                Set<String> keys = new TreeSet<>();
                for (AttributeDefinition ad : ocd.getAttributeDefinitions(ObjectClassDefinition.ALL)) {
                    assertTrue(pid + " " + ad.getID() + " has a description", ad.getDescription() != null
                            && !ad.getDescription().isBlank());
                    keys.add(ad.getID());
                }
                out.put(m.group(1), keys);
            }
        }
        return out;
    }

    /** The keys of every {@code | key | default | meaning |} table, under the PID the text last named. */
    static Map<String, Set<String>> readmeKeys(Path readme) throws IOException {
        Map<String, Set<String>> out = new TreeMap<>();
        // a table belongs to every PID the last line naming any PID names (a table of keys both share)
        List<String> pids = List.of();
        boolean inKeyTable = false;
        for (String line : Files.readAllLines(readme, StandardCharsets.UTF_8)) {
            if (!line.startsWith("|")) {
                inKeyTable = false;
                Matcher m = PIDS.matcher(line);
                List<String> named = new ArrayList<>();
                while (m.find()) {
                    named.add(m.group(1));
                }
                if (!named.isEmpty()) {
                    pids = named;
                }
                continue;
            }
            if (line.startsWith("| key |")) {
                inKeyTable = true;
                continue;
            }
            if (!inKeyTable || line.startsWith("|---")) {
                continue;
            }
            String first = line.substring(1, line.indexOf('|', 1));
            Matcher t = TICKED.matcher(first);
            while (t.find()) {
                // the metatype names a per-user or per-domain key once (senders.user, delivery.domain)
                String key = perItemKey(t.group(1));
                for (String pid : pids) {
                    out.computeIfAbsent(pid, k -> new TreeSet<>()).add(key);
                }
            }
        }
        return out;
    }

    /**
     * The metatype's name for a key that is one key per user or domain: {@code senders.<user>} is
     * {@code senders.user}, a collector's {@code delivery.<domain>} is {@code delivery.domain}.
     */
    private static String perItemKey(String key) {
        if (key.startsWith("senders.")) {
            return "senders.user";
        }
        return key.startsWith("delivery.") ? "delivery.domain" : key;
    }

    /** The keys set or shown in the distribution's {@code etc/io.uplink.*.cfg} and {@code *.cfg.sample} files. */
    static Map<String, Set<String>> shippedKeys(Path etc) throws IOException {
        Map<String, Set<String>> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(etc)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                Matcher m = Pattern.compile("io\\.uplink\\.([a-z0-9]+)(-[^.]+)?\\.cfg(\\.sample)?").matcher(name);
                if (!m.matches() || name.contains("-it-")) {
                    continue;
                }
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    Matcher k = CFG_KEY.matcher(line.trim());
                    if (k.matches()) {
                        // senders.<user> is one key per user: the samples show one user's
                        String key = perItemKey(k.group(1));
                        out.computeIfAbsent(m.group(1), x -> new TreeSet<>()).add(key);
                    }
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ a bad value for every key

    /** Per key: what to set (or, with {@code null}, leave out) on top of a good file to make that key bad. */
    private static Map<String, Map<String, String>> badSender() {
        Map<String, Map<String, String>> bad = new LinkedHashMap<>();
        bad.put("hosts", Map.of("hosts", "smtp.example.net:99999"));
        bad.put("port", Map.of("port", "0"));
        bad.put("security", Map.of("security", "nonee"));
        bad.put("trust.file", Map.of("trust.file", "no-such-file.pem"));
        bad.put("trust.password", Map.of("trust.password", "secret"));
        bad.put("username", Map.of("password", "secret"));
        bad.put("password", Map.of("username", "office"));
        bad.put("helo", Map.of("helo", "bad helo!"));
        bad.put("timeout", Map.of("timeout", "99999999999999999999999"));
        bad.put("maxMessagesPerSession", Map.of("maxMessagesPerSession", "-1"));
        bad.put("onlyWaitingAtStart", Map.of("onlyWaitingAtStart", "yes"));
        bad.put("smallerFirst", Map.of("smallerFirst", "1"));
        bad.put("minRate", Map.of("minRate", "fast"));
        badOAuth2(bad);
        return bad;
    }

    /** The OAuth2 keys, the same for senders and collectors (auth = oauth2 needs a client id and a username). */
    private static void badOAuth2(Map<String, Map<String, String>> bad) {
        Map<String, String> oauth = new LinkedHashMap<>();
        oauth.put("auth", "oauth2");
        oauth.put("oauth2.clientId", "uplink");
        oauth.put("username", "demo@localhost");
        bad.put("auth", Map.of("auth", "token"));
        bad.put("oauth2.provider", with(oauth, Map.of("oauth2.provider", "yahoo")));
        bad.put("oauth2.tenant", with(oauth, Map.of("oauth2.provider", "microsoft", "oauth2.tenant", "no such tenant")));
        Map<String, String> noClient = new LinkedHashMap<>(oauth);
        noClient.put("oauth2.provider", "google");
        noClient.put("oauth2.clientId", null);
        bad.put("oauth2.clientId", noClient);
        bad.put("oauth2.tokenUrl", with(oauth, Map.of("oauth2.tokenUrl", "ftp://127.0.0.1/token",
                "oauth2.deviceUrl", "http://127.0.0.1/device")));
        bad.put("oauth2.deviceUrl", with(oauth, Map.of("oauth2.tokenUrl", "http://127.0.0.1/token",
                "oauth2.deviceUrl", "device")));
        bad.put("oauth2.revokeUrl", with(oauth, Map.of("oauth2.tokenUrl", "http://127.0.0.1/token",
                "oauth2.deviceUrl", "http://127.0.0.1/device", "oauth2.revokeUrl", "mailto:x@y")));
        bad.put("oauth2.mechanism", with(oauth, Map.of("oauth2.provider", "google", "oauth2.mechanism", "plain")));
    }

    private static Map<String, Map<String, String>> badCollector() {
        Map<String, Map<String, String>> bad = new LinkedHashMap<>();
        bad.put("connections", Map.of("connections", "bad id!"));
        bad.put("enabled", Map.of("enabled", "yes"));
        bad.put("priority", Map.of("priority", "-1"));
        bad.put("protocol", Map.of("protocol", "pop"));
        bad.put("host", Map.of("host", "bad host!"));
        bad.put("port", Map.of("port", "70000"));
        bad.put("security", Map.of("security", "ssl"));
        bad.put("trust.file", Map.of("trust.file", "no-such-file.pem"));
        bad.put("trust.password", Map.of("trust.password", "secret"));
        bad.put("username", Map.of("username", ""));
        bad.put("password", Map.of("password", ""));
        bad.put("folder", Map.of("folder", "Archive"));
        bad.put("leaveOnServer.days", Map.of("leaveOnServer.days", "-1"));
        bad.put("maxMessageSize", Map.of("maxMessageSize", "big"));
        bad.put("deliverTo", Map.of("deliverTo", "../etc"));
        bad.put("route", Map.of("route", "recipients"));
        Map<String, String> domains = new LinkedHashMap<>();
        domains.put("deliverTo", null);
        domains.put("route", "headers");
        domains.put("domains", "bad domain!");
        bad.put("domains", domains);
        bad.put("unroutable", Map.of("unroutable", "../etc"));
        bad.put("timeout", Map.of("timeout", "soon"));
        bad.put("uidl.expiryDays", Map.of("uidl.expiryDays", "0"));
        bad.put("idle", Map.of("idle", "true"));
        bad.put("idle.renew", Map.of("idle.renew", "30m"));
        bad.put("minRate", Map.of("minRate", "fast"));
        bad.put("delivery", Map.of("delivery", "ftp://127.0.0.1:21"));
        // delivery.<domain>: here the domain is called "domain"
        Map<String, String> domainDelivery = new LinkedHashMap<>();
        domainDelivery.put("deliverTo", null);
        domainDelivery.put("route", "headers");
        domainDelivery.put("domains", "domain");
        domainDelivery.put("delivery.domain", "ftp://127.0.0.1:21");
        bad.put("delivery.domain", domainDelivery);
        badOAuth2(bad);
        return bad;
    }

    private static Map<String, String> with(Map<String, String> base, Map<String, String> change) {
        Map<String, String> m = new LinkedHashMap<>(base);
        change.forEach((k, v) -> {
            if (v == null) {
                m.remove(k);
            } else {
                m.put(k, v);
            }
        });
        return m;
    }

    private static String id(String kind, String key) {
        return "it-bad-" + kind + "-" + key.replace('.', '_');
    }

    @Test
    public void aBadValueForEverySenderAndCollectorKeyIsErrorNamingFileAndKeyWhileTheDemoKeepsWorking() throws Exception {
        Map<String, Set<String>> meta = metatypeKeys();
        assertCovered("sender", meta.get("sender"), badSender().keySet());
        assertCovered("collector", meta.get("collector"), badCollector().keySet());

        Map<String, String> sender = Map.of("hosts", "127.0.0.1:3025", "security", "none");
        for (Map.Entry<String, Map<String, String>> e : badSender().entrySet()) {
            drop("io.uplink.sender-" + id("sender", e.getKey()) + ".cfg", with(sender, e.getValue()));
        }
        Map<String, String> collector = new LinkedHashMap<>();
        collector.put("connections", "it-nowhere");
        collector.put("host", "127.0.0.1");
        collector.put("port", "3110");
        collector.put("security", "none");
        collector.put("username", "demo");
        collector.put("password", "demo");
        collector.put("deliverTo", "it");
        for (Map.Entry<String, Map<String, String>> e : badCollector().entrySet()) {
            drop("io.uplink.collector-" + id("collector", e.getKey()) + ".cfg", with(collector, e.getValue()));
        }
        // a connection whose sender is in error, and one with a misspelt key
        drop("io.uplink.connection-it-office.cfg", Map.of("method", "network", "sender", id("sender", "security")));
        drop("io.uplink.connection-it-typo.cfg", Map.of("method", "network", "sendr", "demo"));

        for (String key : badSender().keySet()) {
            assertErrorNamesFileAndKey(() -> mailTasks.sender(id("sender", key)), "sender", key);
        }
        for (String key : badCollector().keySet()) {
            assertErrorNamesFileAndKey(() -> mailTasks.collector(id("collector", key)), "collector", key);
        }
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> connections.status("it-office").map(ConnectionStatus::problems)
                .orElse(List.of()).stream().anyMatch(p -> p.startsWith("sender '" + id("sender", "security") + "' is in ERROR: ")));
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> connections.status("it-typo").map(ConnectionStatus::problems).orElse(List.of())
                .contains("unknown key 'sendr' in io.uplink.connection-it-typo.cfg; did you mean 'sender'?"));
        String list = executeCommand("connection:list");
        assertTrue(list, list.contains("is in ERROR"));
        String status = executeCommand("sender:status " + id("sender", "password"));
        assertTrue(status, status.contains("state: ERROR") && status.contains("key 'password'"));

        // the demo items are untouched and work
        assertEquals(MailTaskState.READY, mailTasks.sender("demo").orElseThrow().state());
        assertEquals(MailTaskState.READY, mailTasks.collector("demo").orElseThrow().state());
        FiringResult r = connections.fire("demo", "it").await(WAIT);
        assertEquals(r.summary(), Outcome.OK, r.outcome());
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> mailTasks.collector("demo").orElseThrow().lastRun() != null);
        String collectors = executeCommand("collector:list");
        assertTrue(collectors, collectors.contains("demo") && collectors.contains("READY"));
    }

    private static void assertCovered(String kind, Set<String> metatype, Set<String> withBadValue) {
        Set<String> missing = new TreeSet<>(metatype);
        missing.removeAll(withBadValue);
        missing.removeAll(NO_BAD_VALUE);
        assertTrue(kind + " keys without a bad value in this test: " + missing, missing.isEmpty());
    }

    private static void assertErrorNamesFileAndKey(java.util.concurrent.Callable<Optional<MailTaskStatus>> status,
            String kind, String key) {
        String id = id(kind, key);
        String expected = kind + " '" + id + "' (io.uplink." + kind + "-" + id + ".cfg), key '" + key + "': ";
        await("ERROR of " + id).atMost(WAIT.toSeconds(), TimeUnit.SECONDS).until(() -> status.call().map(s -> s.state() == MailTaskState.ERROR
                && s.error().startsWith(expected)).orElse(false));
    }

    @Test
    public void aBadValueForEveryMailKeyIsOneErrorLineNamingFileAndKey() throws Exception {
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("outbox.dir", "relative/outbox");
        bad.put("pickup.dir", "relative/pickup");
        bad.put("pickup.interval", "0");
        bad.put("postmaster", "../etc");
        bad.put("retry.initial", "soon");
        bad.put("retry.max", "99999999999999999999999");
        bad.put("retry.maxAge", "-5d");
        bad.put("mailboxes.dir", "relative/mailboxes");
        bad.put("bounce.to", "nobody");
        bad.put("localDomains", "bad domain!");
        bad.put("failed.retention", "0");
        bad.put("maxSessionsPerHost", "0");
        assertCovered("mail", metatypeKeys().get("mail"), bad.keySet());

        Path cfg = etc().resolve("io.uplink.mail.cfg");
        String original = Files.readString(cfg, StandardCharsets.UTF_8);
        Path log = Path.of(System.getProperty("karaf.log"), "karaf.log");
        try {
            for (Map.Entry<String, String> e : bad.entrySet()) {
                String line = "mail settings 'io.uplink.mail' (io.uplink.mail.cfg), key '" + e.getKey() + "': ";
                String content = original + "\n" + e.getKey() + " = " + e.getValue() + "\n";
                writeCfg("io.uplink.mail.cfg", content);
                long[] written = {System.nanoTime()};
                // right after FileInstall took a file in, it writes the configuration back into the file: a write
                // in that instant (this loop is faster than any person) is overwritten with the values just taken
                // in, so it is gone from the file and nothing can recover it; the file is written again (every 3 s)
                // until seen. The log is looked at often, so a line that came is seen at once.
                await("error line for " + e.getKey()).atMost(WAIT.toSeconds(), TimeUnit.SECONDS)
                        .pollDelay(0, TimeUnit.MILLISECONDS).pollInterval(200, TimeUnit.MILLISECONDS).until(() -> {
                            if (Files.readString(log).contains(line)) {
                                return true;
                            }
                            rewriteAfter3s(content, written);
                            return false;
                        });
                // the collectors do not need the queue: the demo collector keeps working
                assertEquals(MailTaskState.READY, mailTasks.collector("demo").orElseThrow().state());
            }
        } finally {
            writeCfg("io.uplink.mail.cfg", original);
        }
        long[] written = {System.nanoTime()};
        await().atMost(WAIT.toSeconds(), TimeUnit.SECONDS).pollDelay(0, TimeUnit.MILLISECONDS)
                .pollInterval(200, TimeUnit.MILLISECONDS).until(() -> {
            if (mailTasks.sender("demo").map(s -> s.state() == MailTaskState.READY).orElse(false)
                    && bundleContext.getServiceReference(io.uplink.api.mail.Outbox.class) != null) {
                return true;
            }
            rewriteAfter3s(original, written);
            return false;
        });
    }

    /** Writes io.uplink.mail.cfg again when the last write of it is 3 s old (FileInstall may have overwritten it). */
    private void rewriteAfter3s(String content, long[] written) throws IOException {
        if (System.nanoTime() - written[0] >= TimeUnit.SECONDS.toNanos(3)) {
            writeCfg("io.uplink.mail.cfg", content);
            written[0] = System.nanoTime();
        }
    }
}
