package io.uplink.cluster.internal;

import io.uplink.api.FiringResult;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.LocalFirings;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * A cluster node in a JVM of its own, for a test to kill: it requests one firing of a connection and prints
 * {@code RUNNING <firing id>} once that firing runs here; the firing never ends by itself.
 *
 * <p>Arguments: JDBC URL, node id, connection id.
 */
public final class ChildNode {

    private ChildNode() {
    }

    public static void main(String[] args) throws Exception {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(args[0]);
        hc.setUsername("postgres");
        hc.setMaximumPoolSize(10);
        CountDownLatch never = new CountDownLatch(1);
        LocalFirings local = new LocalFirings() {
            @Override
            public boolean canRun(String connectionId) {
                return true;
            }

            @Override
            public FiringResult run(String connectionId, String firingId, String cause, Fence fence)
                    throws InterruptedException {
                System.out.println("RUNNING " + firingId);
                System.out.flush();
                never.await();
                throw new InterruptedException();
            }
        };
        PgCluster cluster = new PgCluster(new HikariDataSource(hc),
                new NodeSettings(args[1], Duration.ofMillis(500), Duration.ofMillis(1500), 2), () -> local);
        cluster.start();
        cluster.request(args[2], "shell");
        never.await();
    }
}
