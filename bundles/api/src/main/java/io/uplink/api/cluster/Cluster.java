package io.uplink.api.cluster;

import io.uplink.api.FiringResult;

import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

/**
 * This node's view of the cluster, registered by the cluster bundle once the shared database answers.
 *
 * <p>Firings are dispatched through the cluster's scheduler, so that each one runs on exactly one node: a request
 * made on any node is coalesced with one that has not started yet, and a firing in progress gets at most one
 * follow-up. The node that runs a firing holds that connection's {@link Fence} for as long as it runs.
 */
public interface Cluster {

    /** This node's id ({@code node.id} of {@code io.uplink.cluster}, by default the host name). */
    String nodeId();

    /** The shared database: pooled sessions for reads, and for writes that no firing needs to fence. */
    DataSource dataSource();

    /**
     * Asks the cluster to fire a connection once, on whichever node may run it.
     *
     * @param cause who asks, as in {@link io.uplink.api.ConnectionService#fire(String, String)}
     * @return the id of the firing that will serve this request (an earlier request's, when coalesced)
     */
    String request(String connectionId, String cause);

    /**
     * Asks the cluster to fire a connection for one schedule slot: every node may ask for the same slot, and the
     * slot fires once cluster-wide (also when the node that would have fired it dies).
     *
     * <p>The default (for stand-ins without a database) is a plain {@link #request}; the cluster bundle keeps one
     * row per (connection, slot).
     *
     * @param cause as in {@link #request}, {@code schedule:<item>} for a schedule item
     * @param slot the instant the slot is due, the same on every node that asks for it
     * @return the id of the firing that serves the slot
     */
    default String requestSlot(String connectionId, String cause, java.time.Instant slot) {
        return request(connectionId, cause);
    }

    /** The result of a firing that ran on any node, once it has ended. */
    Optional<FiringResult> result(String firingId);

    /**
     * Past firings on every node, newest first.
     *
     * @param connectionId a connection, or {@code null} for all
     */
    List<FiringResult> history(String connectionId, int limit);

    /** Which node ran (or runs) a firing, or empty when the cluster does not know it. */
    Optional<String> nodeOf(String firingId);

    /** The firings running now on any node. */
    List<RunningFiring> running();

    /** The nodes that have checked in, this one included, sorted by id. */
    List<ClusterNode> nodes();

    /** The fence this node holds for a connection's firing in progress here, or empty when it runs none. */
    Optional<Fence> fence(String connectionId);

    /** A firing in progress somewhere in the cluster. */
    record RunningFiring(String firingId, String connectionId, String nodeId, java.time.Instant started) {
    }
}
