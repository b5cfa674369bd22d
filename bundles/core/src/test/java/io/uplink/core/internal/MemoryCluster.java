package io.uplink.core.internal;

import io.uplink.api.FiringResult;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.ClusterNode;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.FencedException;
import io.uplink.api.cluster.LocalFirings;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.sql.DataSource;

/**
 * A cluster in memory, a test double for the engine's side only (the real one, on PostgreSQL and Quartz, is the
 * cluster bundle's): requests are coalesced with one not started yet and deduplicated by (connection, slot); a
 * dispatcher hands each firing to the first node whose {@link LocalFirings#canRun} says yes, one firing per
 * connection at a time, under a fence it can take away; results and history are kept with the node.
 */
final class MemoryCluster {

    /** Every request as {@code "<connection> <cause>"}, with {@code " @<slot>"} when it has one. */
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, View> nodes = new LinkedHashMap<>();
    private final Map<String, FiringResult> results = new ConcurrentHashMap<>();
    private final Map<String, String> nodeOf = new ConcurrentHashMap<>();
    private final Map<String, Cluster.RunningFiring> running = new ConcurrentHashMap<>();
    private final Map<String, String> notStarted = new HashMap<>();
    private final Map<String, String> bySlot = new HashMap<>();
    private final List<FiringResult> history = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private int ids;

    /** Makes {@code engine} a node of this cluster, as the core component does when the Cluster service comes. */
    View join(String nodeId, Engine engine) {
        View v = new View(nodeId);
        synchronized (this) {
            nodes.put(nodeId, v);
        }
        engine.setCluster(new ClusterFirings(engine, v, Duration.ofMillis(20)));
        v.local = engine.cluster();
        return v;
    }

    void close() {
        pool.shutdownNow();
    }

    synchronized String request(String connectionId, String cause, Instant slot) {
        requests.add(connectionId + " " + cause + (slot == null ? "" : " @" + slot));
        String key = connectionId + "@" + slot;
        if (slot != null && bySlot.containsKey(key)) {
            return bySlot.get(key);
        }
        String waiting = notStarted.get(connectionId);
        if (waiting == null) {
            waiting = "c" + (++ids);
            notStarted.put(connectionId, waiting);
            String firingId = waiting;
            pool.execute(() -> dispatch(connectionId, firingId, cause));
        }
        if (slot != null) {
            bySlot.put(key, waiting);
        }
        return waiting;
    }

    private void dispatch(String connectionId, String firingId, String cause) {
        View chosen = null;
        try {
            synchronized (this) {
                while (chosen == null) {
                    if (!running.containsKey(connectionId)) {
                        for (View v : nodes.values()) {
                            if (v.local.canRun(connectionId)) {
                                chosen = v;
                                break;
                            }
                        }
                    }
                    if (chosen == null) {
                        wait(20); // a node may become able to run it, or the running firing end
                    }
                }
                notStarted.remove(connectionId, firingId);
                running.put(connectionId, new Cluster.RunningFiring(firingId, connectionId, chosen.nodeId, Instant.now()));
                nodeOf.put(firingId, chosen.nodeId);
            }
            MemoryFence fence = new MemoryFence(connectionId, firingId, chosen.nodeId);
            chosen.fences.put(connectionId, fence);
            try {
                FiringResult r = chosen.local.run(connectionId, firingId, cause, fence);
                synchronized (this) {
                    results.put(firingId, r);
                    history.add(0, r);
                }
            } finally {
                chosen.fences.remove(connectionId);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (this) {
                running.remove(connectionId);
                notifyAll();
            }
        }
    }

    /** This node's fence of a connection's firing in progress, for a test to take away. */
    MemoryFence fenceOn(String nodeId, String connectionId) {
        synchronized (this) {
            return nodes.get(nodeId).fences.get(connectionId);
        }
    }

    /** A fence whose lock the test can take away. */
    static final class MemoryFence implements Fence {
        private final String connectionId;
        private final String firingId;
        private final String nodeId;
        volatile boolean held = true;

        MemoryFence(String connectionId, String firingId, String nodeId) {
            this.connectionId = connectionId;
            this.firingId = firingId;
            this.nodeId = nodeId;
        }

        @Override
        public String connectionId() {
            return connectionId;
        }

        @Override
        public String firingId() {
            return firingId;
        }

        @Override
        public String nodeId() {
            return nodeId;
        }

        @Override
        public boolean held() {
            return held;
        }

        @Override
        public <T> T commit(Work<T> work) throws FencedException {
            if (!held) {
                throw new FencedException("the lock of connection '" + connectionId + "' is gone");
            }
            try {
                return work.run(null);
            } catch (SQLException e) {
                throw new FencedException("commit failed", e);
            }
        }
    }

    /** One node's view of the cluster: the {@link Cluster} service the core binds. */
    final class View implements Cluster {
        final String nodeId;
        final Map<String, MemoryFence> fences = new ConcurrentHashMap<>();
        volatile LocalFirings local;

        View(String nodeId) {
            this.nodeId = nodeId;
        }

        @Override
        public String nodeId() {
            return nodeId;
        }

        @Override
        public DataSource dataSource() {
            throw new UnsupportedOperationException("no database in this test double");
        }

        @Override
        public String request(String connectionId, String cause) {
            return MemoryCluster.this.request(connectionId, cause, null);
        }

        @Override
        public String requestSlot(String connectionId, String cause, Instant slot) {
            return MemoryCluster.this.request(connectionId, cause, slot);
        }

        @Override
        public Optional<FiringResult> result(String firingId) {
            return Optional.ofNullable(results.get(firingId));
        }

        @Override
        public List<FiringResult> history(String connectionId, int limit) {
            synchronized (MemoryCluster.this) {
                return history.stream().filter(r -> connectionId == null || r.connectionId().equals(connectionId))
                        .limit(limit).toList();
            }
        }

        @Override
        public Optional<String> nodeOf(String firingId) {
            return Optional.ofNullable(nodeOf.get(firingId));
        }

        @Override
        public List<RunningFiring> running() {
            return List.copyOf(running.values());
        }

        @Override
        public List<ClusterNode> nodes() {
            List<ClusterNode> out = new ArrayList<>();
            synchronized (MemoryCluster.this) {
                for (View v : nodes.values()) {
                    out.add(new ClusterNode(v.nodeId, Instant.now(), true, List.copyOf(v.fences.keySet())));
                }
            }
            return out;
        }

        @Override
        public Optional<Fence> fence(String connectionId) {
            return Optional.ofNullable(fences.get(connectionId));
        }
    }
}
