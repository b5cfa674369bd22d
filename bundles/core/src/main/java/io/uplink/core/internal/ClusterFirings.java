package io.uplink.core.internal;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.Fence;
import io.uplink.api.cluster.LocalFirings;
import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectionMethod;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's side of a cluster. Fires go to {@link Cluster#request}, whose scheduler hands each firing to one node;
 * this node runs the ones handed to it ({@link LocalFirings#run}) with the engine's own {@link FiringRun}, under the
 * connection's {@link Fence}. A requester's handle completes when {@link Cluster#result} has the firing's record,
 * looked at every {@code poll} (also for a firing that ran here: then the views already show it when the requester
 * looks). The views (status, history) come from the cluster, and the node's own history file is not used.
 */
final class ClusterFirings implements LocalFirings {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterFirings.class);
    static final Duration POLL = Duration.ofMillis(250);
    /** How long an interrupted {@link #run} waits for its firing to end before it gives the fence up. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(30);
    private static final String FALLBACK = "fallback:";
    private static final String AFTER = " after ";

    private final Engine engine;
    private final Cluster cluster;
    private final Duration poll;
    private final ScheduledExecutorService timer;
    private final ExecutorService defaultsSequencer;
    /** Handles waiting for the cluster's record of their firing, by firing id (coalesced requests share one). */
    private final Map<String, FiringHandle> waiting = new ConcurrentHashMap<>();
    private volatile boolean closed;

    ClusterFirings(Engine engine, Cluster cluster, Duration poll) {
        this.engine = engine;
        this.cluster = cluster;
        this.poll = poll;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "uplink-cluster-results"));
        this.defaultsSequencer = Executors.newSingleThreadExecutor(r -> daemon(r, "uplink-cluster-defaults"));
        timer.scheduleWithFixedDelay(this::lookForResults, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    String nodeId() {
        return cluster.nodeId();
    }

    // ------------------------------------------------------------------ requests

    /** Asks the cluster to fire a connection the engine knows; the handle ends when the cluster has its record. */
    FiringHandle request(String id, String cause, Instant slot) {
        if (closed) {
            throw new IllegalStateException("the cluster service is gone");
        }
        String firingId = slot == null ? cluster.request(id, cause) : cluster.requestSlot(id, cause, slot);
        return waiting.computeIfAbsent(firingId, fid -> new FiringHandle(fid, id, cause, List.of()));
    }

    /**
     * Fires the defaults one after the other, each through the cluster: the next is asked for when the one before
     * has ended. The first handle carries the cluster's firing id; the later ones carry an id of their own until
     * their turn, and end with the result of the cluster's firing.
     */
    List<Firing> fireDefaults(List<String> ids, String cause, Instant slot) {
        List<Firing> out = new ArrayList<>();
        if (ids.isEmpty()) {
            return out;
        }
        FiringHandle first = requestOrRefuse(ids.get(0), cause, slot, null);
        out.add(first);
        List<FiringHandle> later = new ArrayList<>();
        for (String id : ids.subList(1, ids.size())) {
            FiringHandle h = new FiringHandle(Engine.newId(), id, cause, List.of());
            later.add(h);
            out.add(h);
        }
        if (!later.isEmpty()) {
            defaultsSequencer.execute(() -> {
                FiringHandle before = first;
                for (FiringHandle h : later) {
                    try {
                        before.result().toCompletableFuture().get();
                    } catch (InterruptedException e) {
                        // the cluster service went: the defaults not asked for yet are not fired
                        for (FiringHandle left : later) {
                            left.complete(FiringRun.refusedUnknown(engine, left, "connection '" + left.connectionId()
                                    + "' was not fired: the cluster service left this node"));
                        }
                        return;
                    } catch (ExecutionException e) {
                        // never: handles complete normally
                    }
                    if (closed) {
                        h.complete(FiringRun.refusedUnknown(engine, h, "connection '" + h.connectionId()
                                + "' was not fired: the cluster service left this node"));
                        before = h;
                        continue;
                    }
                    FiringHandle real = requestOrRefuse(h.connectionId(), cause, slot, h);
                    h.follow(real);
                    before = real;
                }
            });
        }
        return out;
    }

    private FiringHandle requestOrRefuse(String id, String cause, Instant slot, FiringHandle provisional) {
        try {
            return engine.clusterRequest(id, cause, slot);
        } catch (RuntimeException e) {
            // removed meanwhile, or the cluster cannot be asked: that one is refused, the next one runs
            FiringHandle h = provisional != null ? provisional : new FiringHandle(Engine.newId(), id, cause, List.of());
            h.complete(FiringRun.refusedUnknown(engine, h, "connection '" + id + "' was not fired: " + e.getMessage()));
            return h;
        }
    }

    /** The cause of a fallback firing asked for through the cluster: the chain travels in it, for loop checks. */
    static String fallbackCause(String from, List<String> chainBefore) {
        return FALLBACK + from + (chainBefore.isEmpty() ? "" : AFTER + String.join(",", chainBefore));
    }

    /** The connections already tried before a firing with this cause (see {@link #fallbackCause}). */
    static List<String> chainOf(String cause) {
        if (cause == null || !cause.startsWith(FALLBACK)) {
            return List.of();
        }
        String rest = cause.substring(FALLBACK.length());
        int after = rest.indexOf(AFTER);
        List<String> chain = new ArrayList<>();
        if (after >= 0) {
            chain.addAll(Arrays.asList(rest.substring(after + AFTER.length()).split(",")));
            rest = rest.substring(0, after);
        }
        chain.add(rest);
        return chain;
    }

    private void lookForResults() {
        for (FiringHandle h : List.copyOf(waiting.values())) {
            try {
                Optional<FiringResult> r = cluster.result(h.id());
                if (r.isPresent()) {
                    done(h.id(), withNode(r.get()));
                }
            } catch (RuntimeException e) {
                // the database may be away for a moment: the next look tries again
                LOG.debug("cannot look up the result of firing {}: {}", h.id(), e.toString());
            }
        }
    }

    private void done(String firingId, FiringResult r) {
        FiringHandle h = waiting.remove(firingId);
        if (h != null) {
            h.complete(r);
        }
    }

    // ------------------------------------------------------------------ LocalFirings

    @Override
    public boolean canRun(String connectionId) {
        return !closed && engine.canRunHere(connectionId, cluster.nodeId());
    }

    @Override
    public FiringResult run(String connectionId, String firingId, String cause, Fence fence) throws InterruptedException {
        if (!connectionId.equals(fence.connectionId()) || !firingId.equals(fence.firingId())) {
            throw new IllegalArgumentException("firing " + firingId + " of connection '" + connectionId
                    + "' was handed the fence of firing " + fence.firingId() + " of '" + fence.connectionId() + "'");
        }
        FiringHandle h = new FiringHandle(firingId, connectionId, cause, chainOf(cause), cluster.nodeId());
        ScheduledFuture<?> watch = timer.scheduleWithFixedDelay(() -> {
            if (!fence.held()) {
                engine.stopFiring(h, "this node lost the cluster lock of the connection (another node may take over);"
                        + " it commits and deletes nothing more");
            }
        }, 0, poll.toMillis(), TimeUnit.MILLISECONDS);
        try {
            engine.startFenced(h);
            // a requester here still waits for the cluster's record, so that what it reads next already shows it
            return h.ownResult().get();
        } catch (InterruptedException e) {
            // the cluster lost the fence, or stops: the firing ends as on a hang-up, after the step in progress;
            // the fence is given up only after that (bounded), so that no two nodes work on one connection at once
            engine.stopFiring(h, fence.held() ? "the cluster stopped the firing on this node"
                    : "this node lost the cluster lock of the connection (another node may take over);"
                    + " it commits and deletes nothing more");
            try {
                h.ownResult().get(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | java.util.concurrent.TimeoutException | InterruptedException ignored) {
                LOG.debug("firing {} of connection '{}' did not end within {} of being stopped", firingId, connectionId,
                        STOP_WAIT);
            }
            throw e;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            watch.cancel(false);
        }
    }

    /**
     * A connection whose method holds a device wired to one machine (a dial-up modem) must be pinned to that
     * machine's node with key {@code node}: the problem naming file and key, or {@code null} when it is.
     */
    String pinProblem(Settings s, ConnectionConfig c, ConnectionMethod m) {
        if (c.node() != null) {
            return null;
        }
        Set<String> devices;
        try {
            devices = m.resources(s);
        } catch (RuntimeException ex) {
            devices = Set.of();
        }
        if (!"dialup".equals(c.method()) && devices.isEmpty()) {
            return null;
        }
        return s.problem(ConnectionConfig.NODE, "a " + c.method() + " connection in a cluster must be pinned to the "
                + "node its device is wired to: set node = <that node's id> (this node is '" + cluster.nodeId() + "')")
                .getMessage();
    }

    // ------------------------------------------------------------------ views

    /** The statuses with the node that runs or last ran each firing and the last result from the cluster. */
    List<ConnectionStatus> decorate(List<ConnectionStatus> local) {
        Map<String, Cluster.RunningFiring> running = new HashMap<>();
        try {
            for (Cluster.RunningFiring f : cluster.running()) {
                running.put(f.connectionId(), f);
            }
        } catch (RuntimeException e) {
            LOG.debug("cannot list the running firings of the cluster: {}", e.toString());
        }
        List<ConnectionStatus> out = new ArrayList<>(local.size());
        for (ConnectionStatus s : local) {
            out.add(decorate(s, running.get(s.id())));
        }
        return out;
    }

    private ConnectionStatus decorate(ConnectionStatus s, Cluster.RunningFiring elsewhere) {
        FiringResult last = null;
        try {
            List<FiringResult> h = cluster.history(s.id(), 1);
            last = h.isEmpty() ? null : withNode(h.get(0));
        } catch (RuntimeException e) {
            LOG.debug("cannot read the last firing of connection '{}' from the cluster: {}", s.id(), e.toString());
        }
        String self = cluster.nodeId();
        ConnectionState state = s.state();
        String reason = s.reason();
        String node = last == null ? null : last.node();
        if (s.progress() != null || s.state().isFiring()) {
            node = self;
        } else if (elsewhere != null && !self.equals(elsewhere.nodeId())
                && state != ConnectionState.ERROR && state != ConnectionState.REJECTED) {
            state = ConnectionState.REMOTE;
            reason = "firing " + elsewhere.firingId() + " on node '" + elsewhere.nodeId() + "' since "
                    + elsewhere.started();
            node = elsewhere.nodeId();
        }
        return new ConnectionStatus(s.id(), s.name(), s.method(), s.isDefault(), s.order(), state, reason, s.file(),
                s.sender(), s.collectors(), s.fallback(), s.progress(), last, s.problems(), s.settings(), node);
    }

    List<FiringResult> history(String connectionId, int limit) {
        List<FiringResult> out = new ArrayList<>();
        for (FiringResult r : cluster.history(connectionId, limit)) {
            out.add(withNode(r));
        }
        return out;
    }

    /** The result with its node, asked of the cluster when the record does not carry it. */
    private FiringResult withNode(FiringResult r) {
        if (r.node() != null) {
            return r;
        }
        try {
            return cluster.nodeOf(r.firingId()).map(r::withNode).orElse(r);
        } catch (RuntimeException e) {
            return r;
        }
    }

    /** The cluster service went: a requester still waiting learns that its result cannot be known here. */
    void close() {
        closed = true;
        timer.shutdownNow();
        defaultsSequencer.shutdownNow();
        for (FiringHandle h : List.copyOf(waiting.values())) {
            Instant now = engine.clock().instant();
            String why = "the cluster service left this node before the firing's result was known;"
                    + " see connection:history on a cluster node";
            waiting.remove(h.id());
            h.complete(new FiringResult(h.id(), h.connectionId(), h.connectionId(), h.cause(), now, now, Outcome.FAILED,
                    why, MailCounts.NONE, List.of(), List.of(why), null));
        }
    }
}
