package io.uplink.api.cluster;

import java.time.Instant;
import java.util.List;

/**
 * A node of the cluster as the shared database sees it.
 *
 * @param id the node's id
 * @param lastCheckin when it last checked in
 * @param alive whether that check-in is recent enough (within the failure-detection time)
 * @param firings the ids of the connections it fires now
 */
public record ClusterNode(String id, Instant lastCheckin, boolean alive, List<String> firings) {

    public ClusterNode {
        firings = List.copyOf(firings);
    }
}
