package io.uplink.cluster.internal;

import java.time.Duration;

/**
 * A node's settings, read from {@link ClusterConfig}.
 *
 * @param nodeId this node's id (Quartz's instance id)
 * @param checkin how often it checks in; twice this without a check-in and it is taken for dead
 * @param fenceTimeout the server-side idle timeout of a fence's session
 * @param threads firings run at once here
 */
record NodeSettings(String nodeId, Duration checkin, Duration fenceTimeout, int threads) {

    NodeSettings {
        if (nodeId == null || nodeId.isBlank() || nodeId.length() > 200) {
            throw new IllegalArgumentException("node.id must be 1 to 200 characters");
        }
    }

    /** The heartbeat of a fence: a third of its timeout, so two may be late before the server ends the session. */
    Duration heartbeat() {
        return fenceTimeout.dividedBy(3);
    }

    /** How long a firing waits for the previous holder's lock to go (a paused holder's ends after fenceTimeout). */
    Duration fenceWait() {
        return fenceTimeout.multipliedBy(2).plus(checkin);
    }

    /** How long a node may be silent before it is taken for dead. */
    Duration deadAfter() {
        return checkin.multipliedBy(2);
    }
}
