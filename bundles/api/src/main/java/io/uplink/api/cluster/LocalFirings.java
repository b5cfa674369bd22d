package io.uplink.api.cluster;

import io.uplink.api.FiringResult;

/**
 * Registered by the core bundle on a cluster node: runs firings that the cluster's scheduler hands to this node.
 */
public interface LocalFirings {

    /**
     * Whether this node may run the connection now: it is configured here, not in error, and, when pinned to a
     * node (a dial-up modem is wired to one machine), pinned to this one.
     */
    boolean canRun(String connectionId);

    /**
     * Runs one firing here and blocks until it ends. The cluster holds {@code fence} for the whole run and records
     * the result. When the fence is lost (its session ended: another node may take the connection over), the cluster
     * interrupts the thread that called this method: the firing stops at once, commits nothing more and deletes
     * nothing, and may throw {@link InterruptedException}.
     *
     * @param firingId the id the request was given (see {@link Cluster#request})
     */
    FiringResult run(String connectionId, String firingId, String cause, Fence fence) throws InterruptedException;
}
