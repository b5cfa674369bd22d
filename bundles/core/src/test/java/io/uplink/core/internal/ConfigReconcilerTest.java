package io.uplink.core.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class ConfigReconcilerTest {

    private static final Duration SETTLE = Duration.ofSeconds(3);

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path etc;
    private final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    /** What "ConfigurationAdmin" holds, by file name. */
    private final Map<String, Map<String, Object>> live = Collections.synchronizedMap(new HashMap<>());
    private final List<String> applied = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private ConfigReconciler reconciler;

    @Before
    public void setUp() throws IOException {
        etc = tmp.newFolder("etc").toPath();
        ConfigReconciler.Live admin = new ConfigReconciler.Live() {
            @Override
            public Map<String, Map<String, Object>> byFile() {
                return new HashMap<>(live);
            }

            @Override
            public void apply(Path file, Map<String, Object> properties) {
                applied.add(file.getFileName().toString());
                Map<String, Object> p = new HashMap<>(properties);
                p.put("felix.fileinstall.filename", ConfigReconcilerComponent.AdminLive.stampOf(file));
                live.put(file.getFileName().toString(), p);
            }
        };
        reconciler = new ConfigReconciler(etc, admin, clock::get, SETTLE,
                (name, key, value) -> "karaf.data".equals(value) ? "/srv/uplink/data" : null, warnings::add);
    }

    private void later(Duration d) {
        clock.addAndGet(d.toNanos());
    }

    private Path write(String name, String content) throws IOException {
        Path f = Files.writeString(etc.resolve(name), content, StandardCharsets.ISO_8859_1);
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        return f;
    }

    /** As FileInstall leaves it: the file's properties plus its stamps. */
    private void takenIn(String name, Map<String, Object> props) {
        Map<String, Object> p = new HashMap<>(props);
        p.put("service.pid", "io.uplink.connection~x");
        p.put("service.factoryPid", "io.uplink.connection");
        p.put("felix.fileinstall.filename", "file:" + etc.resolve(name));
        live.put(name, p);
    }

    @Test
    public void filesThatAreLiveAreReadOnceAndThenOnlyLookedAt() throws Exception {
        write("io.uplink.connection-office.cfg", "# the office\nname = Office\nmethod = network\n");
        write("io.uplink.mail.cfg", "mailboxes.dir = ${karaf.data}/mailboxes\n");
        write("org.apache.karaf.shell.cfg", "sshPort = 8101\n");
        takenIn("io.uplink.connection-office.cfg", Map.of("name", "Office", "method", "network"));
        takenIn("io.uplink.mail.cfg", Map.of("mailboxes.dir", "/srv/uplink/data/mailboxes"));

        assertEquals("files seen for the first time wait to keep still", SETTLE.toNanos(), reconciler.pass());
        assertEquals(0, reconciler.reads());
        later(SETTLE);
        assertEquals(-1, reconciler.pass());
        assertEquals("each Uplink file read once; other files never", 2, reconciler.reads());
        for (int i = 0; i < 10; i++) {
            later(Duration.ofSeconds(15));
            assertEquals(-1, reconciler.pass());
        }
        assertEquals("unchanged files are not read again", 2, reconciler.reads());
        assertEquals(List.of(), warnings);
        assertEquals(List.of(), applied);
    }

    @Test
    public void aFileNotTakenInIsLoggedFileInstallIsAskedAgainThenItIsApplied() throws Exception {
        Path f = write("io.uplink.connection-late.cfg", "name = Late\nmethod = network\n");
        long before = Files.getLastModifiedTime(f).toMillis();
        reconciler.pass();
        later(SETTLE);
        assertTrue("judged again soon", reconciler.pass() >= 0);
        assertEquals(List.of("etc/io.uplink.connection-late.cfg was not taken in by FileInstall; applying it now"), warnings);
        assertNotEquals("its modification time moved, so FileInstall's scanner reads it again", before,
                Files.getLastModifiedTime(f).toMillis());
        assertEquals(List.of(), applied);

        // FileInstall still does not take it in: Uplink applies it itself, stamped with the file
        later(SETTLE);
        reconciler.pass();
        assertEquals(List.of("io.uplink.connection-late.cfg"), applied);
        assertEquals("Late", live.get("io.uplink.connection-late.cfg").get("name"));
        assertEquals(f.toUri().getPath(), Path.of(java.net.URI.create(
                live.get("io.uplink.connection-late.cfg").get("felix.fileinstall.filename").toString())).toString());
        assertEquals(2, warnings.size());
        later(SETTLE);
        assertEquals(-1, reconciler.pass());
        later(Duration.ofSeconds(15));
        reconciler.pass();
        assertEquals("nothing more once it is live", 2, warnings.size());
        assertEquals(1, applied.size());
    }

    @Test
    public void aChangeFileInstallMissedIsRecoveredByItReadingTheFileAgain() throws Exception {
        write("io.uplink.core.cfg", "maxConnections = 20\n");
        takenIn("io.uplink.core.cfg", Map.of("maxConnections", "10"));
        reconciler.pass();
        later(SETTLE);
        reconciler.pass();
        assertEquals(List.of("etc/io.uplink.core.cfg was not taken in by FileInstall; applying it now"), warnings);
        // FileInstall reads the touched file and updates the configuration
        takenIn("io.uplink.core.cfg", Map.of("maxConnections", "20"));
        reconciler.configurationChanged();
        later(SETTLE);
        assertEquals(-1, reconciler.pass());
        assertEquals(1, warnings.size());
        assertEquals("FileInstall did it: Uplink applied nothing", List.of(), applied);
    }

    @Test
    public void nothingIsJudgedWhileFilesOrConfigurationsAreStillChanging() throws Exception {
        write("io.uplink.connection-a.cfg", "method = network\n");
        reconciler.pass();
        later(Duration.ofSeconds(2));
        reconciler.configurationChanged();
        later(Duration.ofSeconds(2));
        assertTrue("a configuration changed 2 s ago: wait", reconciler.pass() > 0);
        assertEquals(0, reconciler.reads());
        // the file changes again before it is judged
        write("io.uplink.connection-a.cfg", "method = network\nname = A\n");
        later(SETTLE);
        reconciler.pass();
        assertEquals(0, reconciler.reads());
        takenIn("io.uplink.connection-a.cfg", Map.of("method", "network", "name", "A"));
        later(SETTLE);
        assertEquals(-1, reconciler.pass());
        assertEquals(1, reconciler.reads());
        assertEquals(List.of(), warnings);
    }

    @Test
    public void anEditThatKeptSizeAndTimeIsCaughtByTheRecheck() throws Exception {
        reconciler.recheckEvery(Duration.ofMinutes(5));
        Path f = write("io.uplink.connection-office.cfg", "name = Office A\n");
        takenIn("io.uplink.connection-office.cfg", Map.of("name", "Office A"));
        reconciler.pass();
        later(SETTLE);
        reconciler.pass();
        assertEquals(1, reconciler.reads());
        // a copy that keeps times: same size, same modification time; FileInstall's scanner sees nothing
        FileTime kept = Files.getLastModifiedTime(f);
        Files.writeString(f, "name = Office B\n", StandardCharsets.ISO_8859_1);
        Files.setLastModifiedTime(f, kept);
        later(Duration.ofMinutes(1));
        reconciler.pass();
        assertEquals("not before the recheck", List.of(), warnings);
        later(Duration.ofMinutes(5));
        reconciler.pass();
        assertEquals(List.of("etc/io.uplink.connection-office.cfg was not taken in by FileInstall; applying it now"), warnings);
        assertNotEquals(kept, Files.getLastModifiedTime(f));
    }

    @Test
    public void fileNamesMapToThePidsFileInstallGives() {
        assertEquals(List.of("io.uplink.connection", "scale-c1"), List.of(ConfigReconciler.pidOf("io.uplink.connection-scale-c1.cfg")));
        String[] core = ConfigReconciler.pidOf("io.uplink.core.cfg");
        assertEquals("io.uplink.core", core[0]);
        assertEquals(null, core[1]);
        assertFalse(ConfigReconciler.FILES.matcher("io.uplink.core.cfg.sample").matches());
        assertTrue(ConfigReconciler.sameSettings(Map.of("a", new String[] {"x"}), Map.of("a", new String[] {"x"},
                "service.pid", "p")));
    }
}
