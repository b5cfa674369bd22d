package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.mail.MailCollector;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;

/**
 * Many items dropped into etc/ at once all become live: FileInstall's NIO watcher silently dropped what
 * overflowed the directory's 512-event queue, so the distribution runs FileInstall's polling scanner.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BulkConfigIT extends UplinkTestSupport {

    private static final int PAIRS = 550;

    @Inject
    protected ConnectionService connections;

    private long bulkConnections() {
        return connections.list().stream().map(ConnectionStatus::id).filter(id -> id.startsWith("bulk-c")).count();
    }

    private long liveBulkConnections() {
        return connections.list().stream().filter(s -> s.id().startsWith("bulk-c") && s.state() == ConnectionState.IDLE)
                .count();
    }

    private int liveBulkCollectors() throws InvalidSyntaxException {
        return bundleContext.getServiceReferences(MailCollector.class, "(uplink.collector.id=bulk-k*)").size();
    }

    @Test
    public void elevenHundredFilesDroppedAtOnceAreAllLiveWithinThirtySeconds() throws Exception {
        Configuration core = configurationAdmin.getConfiguration("io.uplink.core", null);
        Dictionary<String, Object> saved = core.getProperties();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("maxConnections", String.valueOf(PAIRS + 100));
        core.update(props);
        List<Path> files = new ArrayList<>();
        try {
            // every file is written aside first, then all are renamed into etc/ in one burst
            Path staging = Files.createTempDirectory(Path.of(System.getProperty("karaf.data")), "bulk");
            List<Path> staged = new ArrayList<>();
            for (int i = 1; i <= PAIRS; i++) {
                staged.add(Files.writeString(staging.resolve("io.uplink.connection-bulk-c" + i + ".cfg"),
                        "name = Bulk " + i + "\nmethod = network\n", StandardCharsets.UTF_8));
                staged.add(Files.writeString(staging.resolve("io.uplink.collector-bulk-k" + i + ".cfg"),
                        "connections = bulk-c" + i + "\nprotocol = pop3\nhost = 127.0.0.1\nport = 1\nusername = u" + i
                                + "\npassword = secret\n", StandardCharsets.UTF_8));
            }
            long start = System.nanoTime();
            for (Path f : staged) {
                Path target = etc().resolve(f.getFileName());
                Files.move(f, target, StandardCopyOption.ATOMIC_MOVE);
                files.add(target);
            }
            Files.delete(staging);

            await().atMost(30, TimeUnit.SECONDS).pollInterval(250, TimeUnit.MILLISECONDS)
                    .until(() -> liveBulkConnections() == PAIRS && liveBulkCollectors() == PAIRS);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            System.out.println("BulkConfigIT: " + 2 * PAIRS + " items live " + tookMs + " ms after the burst");
            assertEquals(PAIRS, bulkConnections());
        } finally {
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
            await().atMost(60, TimeUnit.SECONDS).until(() -> bulkConnections() == 0 && liveBulkCollectors() == 0);
            if (saved == null) {
                core.delete();
            } else {
                core.update(saved);
            }
        }
        assertTrue(connections.list().stream().noneMatch(s -> s.id().startsWith("bulk-")));
    }
}
