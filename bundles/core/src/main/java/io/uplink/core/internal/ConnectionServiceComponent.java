package io.uplink.core.internal;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MethodInfo;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.LocalFirings;
import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;
import io.uplink.api.method.ConnectionMethod;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OSGi face of the {@link Engine}: the {@link ConnectionService}, the registry the connection
 * configurations report to, the dynamic lists of methods, senders and collectors, EventAdmin and JMX.
 */
@Component(service = {ConnectionService.class, ConnectionRegistry.class}, immediate = true,
        configurationPid = ConnectionServiceComponent.CORE_PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = CoreConfig.class)
public class ConnectionServiceComponent implements ConnectionService, ConnectionRegistry, MailTasks {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionServiceComponent.class);
    static final String MBEAN_NAME = "io.uplink:type=connections";
    static final String CORE_PID = "io.uplink.core";
    private static final Pattern ADDRESS = Pattern.compile("[^@\\s,<>]+@[^@\\s,<>]+");

    private final Engine engine = new Engine(Clock.systemDefaultZone());
    private final Map<String, MailSender> senders = new ConcurrentHashMap<>();
    private final Map<MailCollector, Map<String, Object>> collectors = new ConcurrentHashMap<>();
    /**
     * The enabled collectors by linked connection id, built at the first look after a collector came, changed or
     * went ({@code null} until then), so listing 1,000 connections does not scan 1,000 collectors for each.
     */
    private Map<String, List<MailCollector>> linked;
    private final Object linkedLock = new Object();
    private volatile EventAdmin eventAdmin;
    private volatile MBeanServer mbeanServer;
    private volatile ObjectName registeredMBean;
    /** The cluster this node belongs to, or {@code null} on a single node; guarded by {@code this}. */
    private Cluster cluster;
    private BundleContext context;
    private ServiceRegistration<LocalFirings> localFirings;

    public ConnectionServiceComponent() {
        engine.setMail(this);
        engine.setEvents((topic, props) -> {
            EventAdmin ea = eventAdmin;
            if (ea != null) {
                ea.postEvent(new Event(topic, props));
            }
        });
    }

    @Activate
    void activate(BundleContext bc, Map<String, Object> properties) {
        configure(properties);
        registerMBean();
        synchronized (this) {
            context = bc;
            registerLocalFirings();
        }
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    private void configure(Map<String, Object> properties) {
        Settings s = Settings.of("core settings", CORE_PID, properties);
        for (String w : s.unknownKeys(Settings.keysOf(CoreConfig.class))) {
            LOG.warn("{}: {}", s.item(), w);
        }
        Engine.Limits limits;
        try {
            limits = limits(s);
        } catch (ConfigException e) {
            // one line naming file and key; the limits in force stay until the file is fixed
            limits = engine.limits();
            LOG.error("{}; keeping maxConnections={}, history.size={}, collectors.parallel={}", e.getMessage(),
                    limits.maxConnections(), limits.historySize(), limits.collectorsParallel());
        }
        engine.setLimits(limits);
        engine.setHistoryStore(new HistoryStore(dataDir().resolve("state").resolve("history")));
    }

    /**
     * Reads and checks every key of {@code etc/io.uplink.core.cfg}, the {@code notify.*} ones included (read by
     * the error notices), so a bad value is reported when the file arrives.
     */
    static Engine.Limits limits(Settings s) {
        Engine.Limits d = Engine.Limits.DEFAULT;
        int max = s.integer("maxConnections", d.maxConnections(), 1, 100_000);
        int hist = s.integer("history.size", d.historySize(), 1, 100_000);
        int par = s.integer("collectors.parallel", d.collectorsParallel(), 1, 1_000);
        s.duration("notify.repeat", Duration.ofHours(1));
        // read by the ConfigReconcilerComponent, checked here so that a bad value gets the one line
        s.duration("config.recheck", ConfigReconcilerComponent.RECHECK);
        for (String to : s.list("notify.to")) {
            if (!ADDRESS.matcher(to).matches()) {
                throw s.problem("notify.to", "'" + to + "' is not a mail address such as postmaster@example.net");
            }
        }
        String from = s.string("notify.from", "uplink@localhost");
        if (!ADDRESS.matcher(from).matches()) {
            throw s.problem("notify.from", "'" + from + "' is not a mail address such as uplink@localhost");
        }
        return new Engine.Limits(max, hist, par);
    }

    static Path dataDir() {
        String karafData = System.getProperty("karaf.data");
        return (karafData != null ? Path.of(karafData) : Path.of("data")).resolve("uplink");
    }

    @Deactivate
    void deactivate() {
        synchronized (this) {
            unregisterLocalFirings();
            context = null;
        }
        unregisterMBean();
        engine.close(30_000);
    }

    // ------------------------------------------------------------------ cluster

    /**
     * A cluster node: fires go through the cluster and this node runs the firings it hands over. Absent on a single
     * node, which keeps its history in files as always.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindCluster(Cluster c) {
        unregisterLocalFirings();
        cluster = c;
        engine.setCluster(new ClusterFirings(engine, c, ClusterFirings.POLL));
        LOG.info("this node is '{}' of a cluster: connections fire through the cluster", c.nodeId());
        registerLocalFirings();
    }

    synchronized void unbindCluster(Cluster c) {
        if (cluster != c) {
            return;
        }
        unregisterLocalFirings();
        cluster = null;
        engine.setCluster(null);
        LOG.info("the cluster service left: connections fire on this node alone");
    }

    /** Holds {@code this}. */
    private void registerLocalFirings() {
        ClusterFirings c = engine.cluster();
        if (context != null && c != null && localFirings == null) {
            localFirings = context.registerService(LocalFirings.class, c, null);
        }
    }

    /** Holds {@code this}. */
    private void unregisterLocalFirings() {
        if (localFirings != null) {
            try {
                localFirings.unregister();
            } catch (IllegalStateException e) {
                LOG.debug("LocalFirings already unregistered: {}", e.toString());
            }
            localFirings = null;
        }
    }

    // ------------------------------------------------------------------ registry

    @Override
    public void configure(String pid, Map<String, ?> properties) {
        engine.configure(pid, properties);
    }

    @Override
    public void remove(String pid) {
        engine.remove(pid);
    }

    // ------------------------------------------------------------------ methods

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMethod(ConnectionMethod method, Map<String, Object> props) {
        Object name = props.get(ConnectionMethod.PROPERTY);
        if (name == null || name.toString().isBlank()) {
            LOG.warn("a ConnectionMethod service without the property {} is ignored", ConnectionMethod.PROPERTY);
            return;
        }
        Bundle b = FrameworkUtil.getBundle(method.getClass());
        String description;
        try {
            description = method.description();
        } catch (RuntimeException e) {
            description = "";
        }
        engine.methodAdded(name.toString(), method, new MethodInfo(name.toString(),
                b == null ? "?" : b.getSymbolicName(), b == null ? "?" : b.getVersion().toString(), description));
    }

    void unbindMethod(ConnectionMethod method, Map<String, Object> props) {
        Object name = props.get(ConnectionMethod.PROPERTY);
        if (name != null) {
            engine.methodRemoved(name.toString(), method);
        }
    }

    // ------------------------------------------------------------------ mail tasks

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSender(MailSender sender, Map<String, Object> props) {
        Object id = props.get(MailSender.ID);
        senders.put(id != null ? id.toString() : sender.id(), sender);
    }

    void unbindSender(MailSender sender, Map<String, Object> props) {
        senders.values().removeIf(s -> s == sender);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, updated = "updatedCollector")
    void bindCollector(MailCollector collector, Map<String, Object> props) {
        synchronized (linkedLock) {
            collectors.put(collector, Map.copyOf(props));
            linked = null;
        }
    }

    void updatedCollector(MailCollector collector, Map<String, Object> props) {
        bindCollector(collector, props);
    }

    void unbindCollector(MailCollector collector, Map<String, Object> props) {
        synchronized (linkedLock) {
            collectors.remove(collector);
            linked = null;
        }
    }

    @Override
    public MailSender sender(String id) {
        return senders.get(id);
    }

    @Override
    public boolean anySender() {
        return !senders.isEmpty();
    }

    @Override
    public List<MailCollector> collectors(String connectionId) {
        synchronized (linkedLock) {
            if (linked == null) {
                linked = linkedByConnection(collectors);
            }
            return linked.getOrDefault(connectionId, List.of());
        }
    }

    /** The enabled collectors by connection id, each list lowest priority first, then by id. */
    static Map<String, List<MailCollector>> linkedByConnection(Map<MailCollector, Map<String, Object>> all) {
        Map<String, List<MailCollector>> out = new HashMap<>();
        for (Map.Entry<MailCollector, Map<String, Object>> e : all.entrySet()) {
            Map<String, Object> p = e.getValue();
            if (Boolean.FALSE.equals(asBoolean(p.get(MailCollector.ENABLED)))) {
                continue;
            }
            for (String id : connectionIds(p.get(MailCollector.CONNECTIONS))) {
                List<MailCollector> l = out.computeIfAbsent(id, k -> new ArrayList<>());
                if (!l.contains(e.getKey())) {
                    l.add(e.getKey());
                }
            }
        }
        Comparator<MailCollector> order = Comparator.comparingInt((MailCollector c) -> priority(all.get(c)))
                .thenComparing(MailCollector::id);
        for (Map.Entry<String, List<MailCollector>> e : out.entrySet()) {
            e.getValue().sort(order);
            e.setValue(List.copyOf(e.getValue()));
        }
        return out;
    }

    private static Boolean asBoolean(Object o) {
        return o == null ? null : Boolean.valueOf(o.toString());
    }

    private static int priority(Map<String, Object> p) {
        Object o = p == null ? null : p.get(MailCollector.PRIORITY);
        if (o instanceof Number n) {
            return n.intValue();
        }
        try {
            return o == null ? 0 : Integer.parseInt(o.toString().trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static List<String> connectionIds(Object connections) {
        List<String> out = new ArrayList<>();
        if (connections instanceof String[] a) {
            for (String s : a) {
                if (s != null) {
                    out.add(s);
                }
            }
        } else if (connections instanceof Iterable<?> it) {
            for (Object s : it) {
                out.add(String.valueOf(s));
            }
        } else if (connections != null) {
            for (String s : connections.toString().split("[,\\s]+")) {
                if (!s.isEmpty()) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ events and JMX

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindEventAdmin(EventAdmin ea) {
        eventAdmin = ea;
    }

    void unbindEventAdmin(EventAdmin ea) {
        if (eventAdmin == ea) {
            eventAdmin = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindMBeanServer(MBeanServer server) {
        mbeanServer = server;
        registerMBean();
    }

    void unbindMBeanServer(MBeanServer server) {
        if (mbeanServer == server) {
            unregisterMBean();
            mbeanServer = null;
        }
    }

    private synchronized void registerMBean() {
        MBeanServer server = mbeanServer;
        if (server == null || registeredMBean != null) {
            return;
        }
        try {
            ObjectName name = new ObjectName(MBEAN_NAME);
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
            server.registerMBean(new StandardMBean(new ConnectionsMBeanImpl(this), ConnectionsMBean.class), name);
            registeredMBean = name;
        } catch (Exception e) {
            LOG.warn("cannot register the JMX MBean {}: {}", MBEAN_NAME, e.toString());
        }
    }

    private synchronized void unregisterMBean() {
        MBeanServer server = mbeanServer;
        ObjectName name = registeredMBean;
        registeredMBean = null;
        if (server != null && name != null) {
            try {
                server.unregisterMBean(name);
            } catch (Exception e) {
                LOG.debug("MBean {} already gone: {}", name, e.toString());
            }
        }
    }

    // ------------------------------------------------------------------ ConnectionService

    @Override
    public List<ConnectionStatus> list() {
        return engine.list();
    }

    @Override
    public Optional<ConnectionStatus> status(String id) {
        return engine.status(id);
    }

    @Override
    public Firing fire(String id, String cause) {
        return engine.fire(id, cause);
    }

    @Override
    public Firing fire(String id, String cause, Instant slot) {
        return engine.fire(id, cause, slot);
    }

    @Override
    public List<Firing> fireDefaults(String cause) {
        return engine.fireDefaults(cause);
    }

    @Override
    public List<Firing> fireDefaults(String cause, Instant slot) {
        return engine.fireDefaults(cause, slot);
    }

    @Override
    public boolean hangup(String id) {
        return engine.hangup(id);
    }

    @Override
    public List<FiringResult> history(String id, int limit) {
        return engine.history(id, limit);
    }

    @Override
    public List<MethodInfo> methods() {
        return engine.methods();
    }
}
