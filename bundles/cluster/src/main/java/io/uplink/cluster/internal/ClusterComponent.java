package io.uplink.cluster.internal;

import io.uplink.api.config.Settings;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.LocalFirings;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Hashtable;
import java.util.Map;

import javax.sql.DataSource;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node in the cluster ({@code etc/io.uplink.cluster.cfg}), over the data source {@code dataSourceName=uplink}
 * that pax-jdbc-config makes from {@code etc/org.ops4j.datasource-uplink.cfg}. The {@link Cluster} service is
 * registered once the database answered and Quartz runs; until then it logs one line and retries.
 */
@Component(service = {}, configurationPid = ClusterComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true)
@Designate(ocd = ClusterConfig.class)
public final class ClusterComponent {

    static final String PID = "io.uplink.cluster";
    static final String FILE = "etc/" + PID + ".cfg";
    static final String DATASOURCE_FILE = "etc/org.ops4j.datasource-uplink.cfg";
    private static final Logger LOG = LoggerFactory.getLogger(ClusterComponent.class);
    private static final Duration RETRY = Duration.ofSeconds(10);

    @Reference(target = "(dataSourceName=uplink)")
    private DataSource dataSource;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile LocalFirings local;

    private volatile boolean active;
    private Thread starter;
    private volatile PgCluster cluster;
    private volatile ServiceRegistration<Cluster> registration;

    @Activate
    void activate(BundleContext context, ClusterConfig config) {
        NodeSettings settings;
        try {
            settings = settings(config);
        } catch (IllegalArgumentException e) {
            LOG.error("{}: {}; this node stays out of the cluster until the file is fixed", FILE, e.getMessage());
            return;
        }
        active = true;
        starter = new Thread(() -> startWhenReachable(context, settings), "uplink-cluster-start");
        starter.setDaemon(true);
        starter.start();
    }

    private void startWhenReachable(BundleContext context, NodeSettings settings) {
        boolean told = false;
        while (active) {
            PgCluster c = new PgCluster(dataSource, settings, () -> local);
            try {
                c.start();
                synchronized (this) {
                    if (!active) {
                        c.stop();
                        return;
                    }
                    cluster = c;
                    registration = context.registerService(Cluster.class, c, new Hashtable<>(Map.of("node.id", settings.nodeId())));
                }
                if (told) {
                    LOG.info("cluster node '{}': the database answers now", settings.nodeId());
                }
                return;
            } catch (Exception e) {
                c.stop();
                if (!told) {
                    LOG.error("cluster node '{}': the cluster database cannot be reached ({} key url): {}; retrying every {}s",
                            settings.nodeId(), DATASOURCE_FILE, rootMessage(e), RETRY.toSeconds());
                    told = true;
                }
            }
            try {
                Thread.sleep(RETRY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Deactivate
    void deactivate() {
        synchronized (this) {
            active = false;
            if (registration != null) {
                registration.unregister();
                registration = null;
            }
        }
        if (starter != null) {
            starter.interrupt();
        }
        PgCluster c = cluster;
        if (c != null) {
            c.stop();
            cluster = null;
        }
    }

    /** Reads the configuration; errors name the key. */
    static NodeSettings settings(ClusterConfig config) {
        String node = config.node_id() == null || config.node_id().isBlank() ? hostName() : config.node_id().trim();
        if (!node.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new IllegalArgumentException("key node.id must be letters, digits, '.', '_' or '-', got '" + node + "'");
        }
        Duration checkin = duration("checkin.interval", config.checkin_interval(), Duration.ofMillis(200));
        Duration fence = duration("fence.timeout", config.fence_timeout(), Duration.ofSeconds(1));
        if (config.threads() < 1 || config.threads() > 200) {
            throw new IllegalArgumentException("key threads must be 1 to 200, got " + config.threads());
        }
        return new NodeSettings(node, checkin, fence, config.threads());
    }

    private static Duration duration(String key, String value, Duration min) {
        Duration d = value == null ? null : Settings.parseDuration(value);
        if (d == null) {
            throw new IllegalArgumentException("key " + key + " must be a duration such as 5s or 500ms, got '" + value + "'");
        }
        if (d.compareTo(min) < 0) {
            throw new IllegalArgumentException("key " + key + " must be at least " + min.toMillis() + "ms, got '" + value + "'");
        }
        return d;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? "node" : env;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
