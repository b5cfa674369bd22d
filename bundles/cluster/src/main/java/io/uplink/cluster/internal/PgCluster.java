package io.uplink.cluster.internal;

import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.ClusterNode;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.cluster.LocalFirings;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.ObjectAlreadyExistsException;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.impl.DirectSchedulerFactory;
import org.quartz.impl.SchedulerRepository;
import org.quartz.impl.jdbcjobstore.PostgreSQLDelegate;
import org.quartz.simpl.SimpleThreadPool;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster as one node sees it: an embedded Quartz on the clustered JDBC JobStore (one durable job per connection,
 * one job at a time per connection, recovered on another node when this one dies), the requests and history in
 * {@code uplink_firing}, the node's check-in in {@code uplink_node}, and the fences of the firings running here.
 *
 * <p>A request is coalesced in the database (one WAITING row per connection) and then triggers the connection's
 * job. The job runs on whichever node's Quartz acquires the trigger; a node that may not run the connection
 * (not configured there, pinned elsewhere) leaves the request waiting, and every node that may run it triggers
 * waiting requests nobody has triggered at its check-in.
 */
final class PgCluster implements Cluster {

    private static final Logger LOG = LoggerFactory.getLogger(PgCluster.class);
    /** Quartz's scheduler name: the same on every node (SCHED_NAME); the node id is its instance id. */
    static final String SCHEDULER = "uplink";
    static final String GROUP = "uplink";
    /** Quartz's scheduler repository and factory are JVM-wide: nodes (in tests, several per JVM) make theirs in turn. */
    private static final Object QUARTZ_SETUP = new Object();
    /** How long the cluster-wide history keeps a firing. */
    static final int HISTORY_DAYS = 90;

    private final DataSource ds;
    private final NodeSettings settings;
    private final Supplier<LocalFirings> local;
    private final Firings firings;
    private final Map<String, PgFence> fences = new ConcurrentHashMap<>();
    private final Map<String, Thread> runners = new ConcurrentHashMap<>();
    private final Set<String> jobs = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService checkins;
    private final ScheduledExecutorService heartbeats;
    private volatile Scheduler quartz;
    private volatile boolean stopping;
    private volatile boolean checkinFailing;
    private long lastHousekeeping;

    PgCluster(DataSource ds, NodeSettings settings, Supplier<LocalFirings> local) {
        this.ds = ds;
        this.settings = settings;
        this.local = local;
        this.firings = new Firings(ds);
        this.checkins = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "uplink-cluster-checkin-" + settings.nodeId()));
        this.heartbeats = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "uplink-cluster-heartbeat-" + settings.nodeId()));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Creates the schema if missing, starts Quartz and the check-in. */
    void start() throws SQLException, IOException, SchedulerException,
            org.quartz.impl.jdbcjobstore.InvalidConfigurationException {
        try (Connection c = ds.getConnection()) {
            Schema.create(c);
        }
        String dsName = "uplink-" + settings.nodeId();
        DBConnectionManager.getInstance().addConnectionProvider(dsName, new ConnectionProvider() {
            @Override
            public Connection getConnection() throws SQLException {
                return ds.getConnection();
            }

            @Override
            public void shutdown() {
                // the pool belongs to pax-jdbc
            }

            @Override
            public void initialize() {
                // nothing to set up
            }
        });
        UplinkJobStore store = new UplinkJobStore();
        store.setDataSource(dsName);
        store.setIsClustered(true);
        store.setClusterCheckinInterval(settings.checkin().toMillis());
        store.setDriverDelegateClass(PostgreSQLDelegate.class.getName());
        store.setUseProperties("true");
        SimpleThreadPool pool = new SimpleThreadPool(settings.threads(), Thread.NORM_PRIORITY);
        pool.setThreadNamePrefix("uplink-firing-" + settings.nodeId());
        pool.setMakeThreadsDaemons(true);
        Thread me = Thread.currentThread();
        ClassLoader before = me.getContextClassLoader();
        synchronized (QUARTZ_SETUP) {
            // Quartz loads the job class by its name from the context loader it sees here
            me.setContextClassLoader(PgCluster.class.getClassLoader());
            try {
                DirectSchedulerFactory.getInstance().createScheduler(SCHEDULER, settings.nodeId(), pool,
                        new org.quartz.impl.DefaultThreadExecutor(), store, null, null, 0,
                        settings.checkin().toMillis(), 15_000, false, null, 1, 0);
                quartz = SchedulerRepository.getInstance().lookup(SCHEDULER);
                SchedulerRepository.getInstance().remove(SCHEDULER);
            } finally {
                me.setContextClassLoader(before);
            }
        }
        quartz.setJobFactory((bundle, scheduler) -> new FiringJob(this));
        quartz.start();
        checkIn();
        long every = settings.checkin().toMillis();
        checkins.scheduleWithFixedDelay(this::checkIn, every, every, TimeUnit.MILLISECONDS);
        LOG.info("cluster node '{}' started (check-in every {}, fence timeout {}, {} threads)", settings.nodeId(),
                settings.checkin(), settings.fenceTimeout(), settings.threads());
    }

    /** Stops: running firings here are interrupted and handed back, so another node runs them again. */
    void stop() {
        stopping = true;
        checkins.shutdownNow();
        runners.values().forEach(Thread::interrupt);
        Scheduler q = quartz;
        if (q != null) {
            try {
                q.shutdown(true);
            } catch (SchedulerException e) {
                LOG.warn("cluster node '{}': Quartz did not stop cleanly: {}", settings.nodeId(), e.toString());
            }
        }
        heartbeats.shutdownNow();
    }

    /** Stops at once without any clean-up, as a killed node would (its fences' sessions are left to the caller). */
    void halt() throws SchedulerException {
        stopping = true;
        checkins.shutdownNow();
        heartbeats.shutdownNow();
        quartz.shutdown(false);
    }

    ScheduledExecutorService heartbeats() {
        return heartbeats;
    }

    // ------------------------------------------------------------------ Cluster

    @Override
    public String nodeId() {
        return settings.nodeId();
    }

    @Override
    public DataSource dataSource() {
        return ds;
    }

    @Override
    public String request(String connectionId, String cause) {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            Firings.lockKey(c, connectionId);
            Firings.Request r = Firings.request(c, connectionId, cause);
            if (r.created()) {
                triggerIfRunnableHere(connectionId);
            }
            return r.firingId();
        } catch (SQLException e) {
            throw unreachable("request a firing of connection '" + connectionId + "'", e);
        }
    }

    @Override
    public String requestSlot(String connectionId, String cause, Instant slot) {
        Firings.Request r;
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                Firings.lockKey(c, connectionId);
                try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_schedule_slot (connection_id, slot,"
                        + " firing_id, cause) VALUES (?, ?, '', ?) ON CONFLICT DO NOTHING")) {
                    st.setString(1, connectionId);
                    st.setTimestamp(2, Timestamp.from(slot));
                    st.setString(3, cause);
                    if (st.executeUpdate() == 0) {
                        c.commit();
                        return slotFiring(c, connectionId, slot);
                    }
                }
                r = Firings.request(c, connectionId, cause);
                try (PreparedStatement st = c.prepareStatement(
                        "UPDATE uplink_schedule_slot SET firing_id = ? WHERE connection_id = ? AND slot = ?")) {
                    st.setString(1, r.firingId());
                    st.setString(2, connectionId);
                    st.setTimestamp(3, Timestamp.from(slot));
                    st.executeUpdate();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw unreachable("request slot " + slot + " of connection '" + connectionId + "'", e);
        }
        if (r.created()) {
            triggerIfRunnableHere(connectionId);
        }
        return r.firingId();
    }

    private static String slotFiring(Connection c, String connectionId, Instant slot) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "SELECT firing_id FROM uplink_schedule_slot WHERE connection_id = ? AND slot = ?")) {
            st.setString(1, connectionId);
            st.setTimestamp(2, Timestamp.from(slot));
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    @Override
    public Optional<FiringResult> result(String firingId) {
        try {
            return firings.result(firingId);
        } catch (SQLException e) {
            throw unreachable("read firing " + firingId, e);
        }
    }

    @Override
    public List<FiringResult> history(String connectionId, int limit) {
        try {
            return firings.history(connectionId, limit);
        } catch (SQLException e) {
            throw unreachable("read the firing history", e);
        }
    }

    @Override
    public Optional<String> nodeOf(String firingId) {
        try {
            return firings.nodeOf(firingId);
        } catch (SQLException e) {
            throw unreachable("read firing " + firingId, e);
        }
    }

    @Override
    public List<RunningFiring> running() {
        try {
            return firings.running();
        } catch (SQLException e) {
            throw unreachable("read the running firings", e);
        }
    }

    @Override
    public List<ClusterNode> nodes() {
        List<ClusterNode> out = new ArrayList<>();
        try (Connection c = ds.getConnection();
                PreparedStatement st = c.prepareStatement("SELECT n.node_id, n.last_checkin, n.checkin_ms,"
                        + " extract(epoch FROM clock_timestamp() - n.last_checkin) * 1000,"
                        + " ARRAY(SELECT f.connection_id FROM uplink_firing f WHERE f.node_id = n.node_id"
                        + " AND f.state = 'RUNNING' ORDER BY f.connection_id)"
                        + " FROM uplink_node n ORDER BY n.node_id");
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                long checkin = rs.getLong(3);
                boolean alive = rs.getDouble(4) <= 2.0 * checkin;
                String[] running = (String[]) rs.getArray(5).getArray();
                out.add(new ClusterNode(rs.getString(1), rs.getTimestamp(2).toInstant(), alive, Arrays.asList(running)));
            }
        } catch (SQLException e) {
            throw unreachable("read the nodes", e);
        }
        return out;
    }

    @Override
    public Optional<Fence> fence(String connectionId) {
        return Optional.ofNullable(fences.get(connectionId));
    }

    // ------------------------------------------------------------------ the job

    /** Runs the connection's waiting request here, when this node may run it (Quartz's worker thread). */
    void runHere(String connectionId, String triggerName) {
        LocalFirings here = local.get();
        boolean may = !stopping && here != null && here.canRun(connectionId);
        Optional<Firings.Claim> claim;
        try {
            claim = firings.claim(connectionId, settings.nodeId(), may);
        } catch (SQLException e) {
            LOG.warn("cluster node '{}': connection '{}' cannot be claimed: {}", settings.nodeId(), connectionId, e.getMessage());
            return;
        }
        if (!may) {
            // left waiting: a node that may run it triggers it at its check-in (documented hand-back)
            LOG.debug("cluster node '{}' may not run connection '{}': handed back", settings.nodeId(), connectionId);
            return;
        }
        if (claim.isEmpty()) {
            return;
        }
        fire(here, connectionId, claim.get());
        followUp(connectionId, triggerName);
    }

    private void fire(LocalFirings here, String connectionId, Firings.Claim claim) {
        String id = claim.firingId();
        if (claim.tookOver() != null) {
            LOG.warn("cluster node '{}' takes over connection '{}': firing {} of node '{}' was interrupted; it runs again"
                    + " as firing {}", settings.nodeId(), connectionId, claim.tookOver(), claim.tookOverNode(), id);
        }
        Thread me = Thread.currentThread();
        Instant started = Instant.now();
        PgFence fence;
        try {
            fence = PgFence.acquire(ds, settings, connectionId, id, firings.lockKey(connectionId), heartbeats, me::interrupt);
        } catch (FencedException | SQLException e) {
            recordFailure(connectionId, id, claim.cause(), started, "the connection's fence could not be taken: " + e.getMessage());
            return;
        } catch (InterruptedException e) {
            handBack(id, connectionId, "node " + settings.nodeId() + " stopped");
            return;
        }
        fences.put(connectionId, fence);
        runners.put(id, me);
        try {
            FiringResult r = here.run(connectionId, id, claim.cause(), fence);
            if (!fence.commit(c -> Firings.end(c, id, r))) {
                LOG.warn("cluster node '{}': firing {} of connection '{}' was taken over meanwhile; its result is not"
                        + " recorded", settings.nodeId(), id, connectionId);
            }
        } catch (InterruptedException e) {
            if (fence.held()) {
                handBack(id, connectionId, "node " + settings.nodeId() + " stopped");
            } else {
                LOG.warn("cluster node '{}': firing {} of connection '{}' stopped: its fence was lost", settings.nodeId(),
                        id, connectionId);
            }
        } catch (FencedException e) {
            LOG.warn("cluster node '{}': the result of firing {} of connection '{}' is not recorded: {}", settings.nodeId(),
                    id, connectionId, e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("cluster node '{}': firing {} of connection '{}' failed", settings.nodeId(), id, connectionId, e);
            FiringResult failed = failure(connectionId, id, claim.cause(), started, e.toString());
            try {
                fence.commit(c -> Firings.end(c, id, failed));
            } catch (FencedException f) {
                LOG.warn("cluster node '{}': firing {} not recorded: {}", settings.nodeId(), id, f.getMessage());
            }
        } finally {
            runners.remove(id);
            fences.remove(connectionId, fence);
            fence.close();
            Thread.interrupted();
        }
    }

    private void handBack(String firingId, String connectionId, String why) {
        try {
            firings.handBack(firingId, connectionId, why);
        } catch (SQLException e) {
            LOG.warn("cluster node '{}': firing {} of connection '{}' could not be handed back ({}); Quartz recovers it"
                    + " once this node is taken for dead", settings.nodeId(), firingId, connectionId, e.getMessage());
        }
    }

    private void recordFailure(String connectionId, String id, String cause, Instant started, String why) {
        LOG.warn("cluster node '{}': firing {} of connection '{}' failed: {}", settings.nodeId(), id, connectionId, why);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            Firings.end(c, id, failure(connectionId, id, cause, started, why));
        } catch (SQLException e) {
            LOG.warn("cluster node '{}': firing {} not recorded: {}", settings.nodeId(), id, e.getMessage());
        }
    }

    private static FiringResult failure(String connectionId, String id, String cause, Instant started, String why) {
        return new FiringResult(id, connectionId, connectionId, cause, started, Instant.now(), Outcome.FAILED, why,
                MailCounts.NONE, List.of(), List.of(why), null);
    }

    /** A request made while this firing ran: trigger it unless a trigger of the job is pending already. */
    private void followUp(String connectionId, String triggerName) {
        try (Connection c = ds.getConnection()) {
            if (Firings.waiting(c, connectionId).isEmpty()) {
                return;
            }
            try (PreparedStatement st = c.prepareStatement("SELECT count(*) FROM qrtz_triggers WHERE sched_name = ?"
                    + " AND job_name = ? AND job_group = ? AND trigger_name <> ?")) {
                st.setString(1, SCHEDULER);
                st.setString(2, connectionId);
                st.setString(3, GROUP);
                st.setString(4, triggerName);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) > 0) {
                        return;
                    }
                }
            }
            trigger(connectionId);
        } catch (SQLException | SchedulerException e) {
            LOG.warn("cluster node '{}': the follow-up of connection '{}' waits for a check-in: {}", settings.nodeId(),
                    connectionId, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ triggers and check-in

    private void triggerIfRunnableHere(String connectionId) {
        LocalFirings here = local.get();
        if (here != null && !here.canRun(connectionId)) {
            // a node that may run it triggers it at its next check-in
            return;
        }
        try {
            trigger(connectionId);
        } catch (SchedulerException e) {
            LOG.warn("cluster node '{}': connection '{}' is requested but not triggered ({}); a check-in triggers it",
                    settings.nodeId(), connectionId, e.getMessage());
        }
    }

    /** Fires the connection's job now (on whichever node acquires the trigger first). */
    void trigger(String connectionId) throws SchedulerException {
        JobKey key = JobKey.jobKey(connectionId, GROUP);
        if (!jobs.contains(connectionId)) {
            JobDetail job = JobBuilder.newJob(FiringJob.class).withIdentity(key).storeDurably().requestRecovery()
                    .withDescription("fires connection " + connectionId).build();
            try {
                quartz.addJob(job, false);
            } catch (ObjectAlreadyExistsException exists) {
                // made by another node or an earlier run
            }
            jobs.add(connectionId);
        }
        Trigger t = TriggerBuilder.newTrigger().withIdentity(Firings.newId(), GROUP).forJob(key).startNow().build();
        quartz.scheduleJob(t);
    }

    /** Checks in, and triggers the waiting requests this node may run that no trigger serves. */
    private void checkIn() {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            try (PreparedStatement st = c.prepareStatement("INSERT INTO uplink_node (node_id, last_checkin, checkin_ms,"
                    + " started) VALUES (?, clock_timestamp(), ?, clock_timestamp()) ON CONFLICT (node_id) DO UPDATE"
                    + " SET last_checkin = clock_timestamp(), checkin_ms = EXCLUDED.checkin_ms")) {
                st.setString(1, settings.nodeId());
                st.setLong(2, settings.checkin().toMillis());
                st.executeUpdate();
            }
            List<String> untriggered = new ArrayList<>();
            try (PreparedStatement st = c.prepareStatement("SELECT f.connection_id FROM uplink_firing f"
                    + " WHERE f.state = 'WAITING' AND f.requested < clock_timestamp() - ? * interval '1 millisecond'"
                    + " AND NOT EXISTS (SELECT 1 FROM qrtz_triggers t WHERE t.sched_name = ? AND t.job_group = ?"
                    + " AND t.job_name = f.connection_id)")) {
                st.setLong(1, settings.checkin().toMillis());
                st.setString(2, SCHEDULER);
                st.setString(3, GROUP);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        untriggered.add(rs.getString(1));
                    }
                }
            }
            housekeeping(c);
            LocalFirings here = local.get();
            for (String connectionId : untriggered) {
                if (here != null && here.canRun(connectionId) && !stopping) {
                    trigger(connectionId);
                }
            }
            if (checkinFailing) {
                LOG.info("cluster node '{}' checks in again", settings.nodeId());
                checkinFailing = false;
            }
        } catch (SQLException | SchedulerException | RuntimeException e) {
            if (!checkinFailing) {
                LOG.warn("cluster node '{}' cannot check in: {}", settings.nodeId(), e.getMessage());
                checkinFailing = true;
            }
        }
    }

    /**
     * At most hourly: forgets schedule slots older than a week and history older than {@link #HISTORY_DAYS} days
     * (any node may do it; the statements are idempotent).
     */
    private void housekeeping(Connection c) throws SQLException {
        long now = System.nanoTime();
        if (lastHousekeeping != 0 && now - lastHousekeeping < TimeUnit.HOURS.toNanos(1)) {
            return;
        }
        lastHousekeeping = now;
        try (PreparedStatement slots = c.prepareStatement(
                "DELETE FROM uplink_schedule_slot WHERE slot < clock_timestamp() - interval '7 days'");
                PreparedStatement old = c.prepareStatement("DELETE FROM uplink_firing WHERE state IN ('ENDED', 'INTERRUPTED')"
                        + " AND ended < clock_timestamp() - ? * interval '1 day'")) {
            slots.executeUpdate();
            old.setInt(1, HISTORY_DAYS);
            old.executeUpdate();
        }
    }

    private IllegalStateException unreachable(String what, SQLException e) {
        return new IllegalStateException("cluster node '" + settings.nodeId() + "' could not " + what
                + ": the cluster database does not answer (" + e.getMessage() + ")", e);
    }
}
