package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.features;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.LocalFirings;
import io.uplink.testsupport.PostgresServer;

/**
 * The uplink-cluster feature in the distribution: installed from its system/ folder (offline), it logs one line
 * naming the data source file while the database does not answer, then comes up once it does (pax-jdbc-config,
 * the PostgreSQL driver, HikariCP, Quartz in OSGi) and runs a firing through the clustered Quartz.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ClusterFeatureIT extends UplinkTestSupport {

    private static final String VERSION = System.getProperty("uplink.project.version");

    @Override
    protected Option[] extraOptions() {
        return new Option[] {
            features(maven().groupId("io.uplink").artifactId("uplink-features").type("xml").classifier("features")
                    .version(VERSION), "uplink-cluster"),
            // a private PostgreSQL, started here in the driver; the test in the container gets its URL
            editConfigurationFilePut("etc/system.properties", "uplink.it.postgres", Database.url()),
            editConfigurationFilePut("etc/io.uplink.demo.cfg", "enabled", "false")
        };
    }

    /** The driver's PostgreSQL, stopped when the driver's JVM ends. */
    private static final class Database {
        private static String url;

        static synchronized String url() {
            if (url == null) {
                try {
                    PostgresServer pg = PostgresServer.start(false);
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                        try {
                            pg.close();
                        } catch (Exception e) {
                            // the temporary directory stays behind
                        }
                    }));
                    url = pg.url(pg.createDatabase());
                } catch (Exception e) {
                    throw new IllegalStateException("PostgreSQL for ClusterFeatureIT: " + e.getMessage(), e);
                }
            }
            return url;
        }
    }

    @Test
    public void theFeatureWaitsForTheDatabaseThenRunsAFiring() throws Exception {
        for (String name : List.of("quartz", "io.uplink.cluster")) {
            Bundle b = bundle(name);
            assertEquals(name + " is active", Bundle.ACTIVE, b.getState());
        }
        writeCfg("io.uplink.cluster.cfg", "node.id = it-node\ncheckin.interval = 1s\nfence.timeout = 3s\nthreads = 2\n");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        writeCfg("org.ops4j.datasource-uplink.cfg", dataSource("jdbc:postgresql://127.0.0.1:" + closed + "/uplink"));
        Path log = Path.of(System.getProperty("karaf.log"), "karaf.log");
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> Files.readString(log).contains(
                "cluster node 'it-node': the cluster database cannot be reached (etc/org.ops4j.datasource-uplink.cfg key url)"));

        writeCfg("org.ops4j.datasource-uplink.cfg", dataSource(System.getProperty("uplink.it.postgres")));
        await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> bundleContext.getServiceReference(Cluster.class) != null);
        ServiceReference<Cluster> ref = bundleContext.getServiceReference(Cluster.class);
        Cluster cluster = bundleContext.getService(ref);
        assertEquals("it-node", cluster.nodeId());

        ServiceRegistration<LocalFirings> local = bundleContext.registerService(LocalFirings.class, new LocalFirings() {
            @Override
            public boolean canRun(String connectionId) {
                return true;
            }

            @Override
            public FiringResult run(String connectionId, String firingId, String cause, Fence fence) {
                Instant now = Instant.now();
                return new FiringResult(firingId, connectionId, "IT", cause, now, now, Outcome.OK,
                        "ran on " + fence.nodeId(), MailCounts.NONE, List.of(), List.of(), null);
            }
        }, new Hashtable<>(Map.of(Constants.SERVICE_RANKING, Integer.MAX_VALUE)));
        try {
            String id = cluster.request("it-cluster", "it");
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> cluster.result(id).isPresent());
            FiringResult r = cluster.result(id).get();
            assertEquals(Outcome.OK, r.outcome());
            assertEquals("ran on it-node", r.summary());
            assertEquals("it-node", cluster.nodeOf(id).get());
            String nodes = executeCommand("cluster:nodes");
            assertTrue(nodes, nodes.contains("it-node (this node)") && nodes.contains("alive"));
        } finally {
            local.unregister();
            Files.deleteIfExists(etc().resolve("io.uplink.cluster.cfg"));
            Files.deleteIfExists(etc().resolve("org.ops4j.datasource-uplink.cfg"));
        }
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : bundleContext.getBundles()) {
            if (b.getSymbolicName().equals(symbolicName)) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }

    private static String dataSource(String url) throws IOException {
        return "osgi.jdbc.driver.name = PostgreSQL JDBC Driver\ndataSourceName = uplink\nurl = " + url
                + "\nuser = postgres\npassword = unused\npool = hikari\nxa = false\nhikari.maximumPoolSize = 10\n"
                + "hikari.connectionTimeout = 3000\nhikari.initializationFailTimeout = -1\n";
    }
}
