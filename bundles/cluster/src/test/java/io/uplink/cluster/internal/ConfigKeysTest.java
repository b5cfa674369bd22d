package io.uplink.cluster.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Test;

/** Every key of {@code io.uplink.cluster} is in the metatype, the README's table and the shipped sample, and bad values name the key. */
public class ConfigKeysTest {

    private static final Path ROOT = Path.of("..", "..");

    @Test
    public void theMetatypeTheReadmeAndTheSampleNameTheSameKeys() throws Exception {
        Set<String> meta = new TreeSet<>();
        for (Method m : ClusterConfig.class.getDeclaredMethods()) {
            meta.add(m.getName().replace('_', '.'));
        }
        Set<String> readme = new TreeSet<>();
        boolean inTable = false;
        boolean ours = false;
        for (String line : Files.readAllLines(ROOT.resolve("README.md"), StandardCharsets.UTF_8)) {
            if (!line.startsWith("|")) {
                inTable = false;
                if (line.contains("io.uplink.")) {
                    ours = line.contains("io.uplink.cluster.cfg");
                }
                continue;
            }
            if (line.startsWith("| key |")) {
                inTable = ours;
                continue;
            }
            if (inTable && !line.startsWith("|---")) {
                Matcher t = Pattern.compile("`([A-Za-z][A-Za-z0-9_.]*)`").matcher(line.substring(1, line.indexOf('|', 1)));
                while (t.find()) {
                    readme.add(t.group(1));
                }
            }
        }
        Set<String> sample = new TreeSet<>();
        Pattern key = Pattern.compile("^#?\\s*([A-Za-z][A-Za-z0-9_.]*)\\s*=.*");
        for (String line : Files.readAllLines(ROOT.resolve("karaf-assembly/src/main/resources/assembly/etc/io.uplink.cluster.cfg.sample"))) {
            Matcher m = key.matcher(line.trim());
            if (m.matches()) {
                sample.add(m.group(1));
            }
        }
        assertEquals("README", meta, readme);
        assertEquals("sample", meta, sample);
    }

    @Test
    public void badValuesNameTheirKey() {
        assertEquals(new NodeSettings("n1", Duration.ofSeconds(5), Duration.ofSeconds(15), 10),
                ClusterComponent.settings(config("n1", "5s", "15s", 10)));
        List<Object[]> bad = List.of(
                new Object[] {config("bad id!", "5s", "15s", 10), "node.id"},
                new Object[] {config("n1", "soon", "15s", 10), "checkin.interval"},
                new Object[] {config("n1", "5s", "10ms", 10), "fence.timeout"},
                new Object[] {config("n1", "5s", "15s", 0), "threads"});
        for (Object[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ClusterComponent.settings((ClusterConfig) b[0]));
            assertTrue(e.getMessage(), e.getMessage().startsWith("key " + b[1] + " "));
        }
        // no node.id: the host name
        assertTrue(!ClusterComponent.settings(config("", "5s", "15s", 10)).nodeId().isBlank());
    }

    private static ClusterConfig config(String node, String checkin, String fence, int threads) {
        return new ClusterConfig() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return ClusterConfig.class;
            }

            @Override
            public String node_id() {
                return node;
            }

            @Override
            public String checkin_interval() {
                return checkin;
            }

            @Override
            public String fence_timeout() {
                return fence;
            }

            @Override
            public int threads() {
                return threads;
            }
        };
    }
}
