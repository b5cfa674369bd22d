package io.uplink.api.cluster;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The right of one firing to change a connection's shared state: a PostgreSQL advisory lock held on a database
 * session of its own, kept alive by a heartbeat. Every ledger and outbox commit of that firing goes through
 * {@link #commit}; a node that lost the session (killed, paused past the failure-detection time, cut off from the
 * database) cannot commit, and so must not delete anything either: deletion on a mail server or from the queue
 * always follows a successful commit.
 */
public interface Fence {

    /** The connection whose lock this is. */
    String connectionId();

    /** The firing that holds it. */
    String firingId();

    /** The node that holds it. */
    String nodeId();

    /** Whether the lock is held, as far as the last heartbeat knows; {@link #commit} checks for certain. */
    boolean held();

    /**
     * Whether someone asked the cluster to stop this firing ({@link Cluster#stop}), as far as the last heartbeat
     * knows; the node running it then stops it as a hang-up does. The default: never.
     *
     * @since 1.2 of the package
     */
    default boolean stopRequested() {
        return false;
    }

    /**
     * Runs work as one transaction on the lock's own session and commits it.
     *
     * @throws FencedException when the session or its lock is gone, or the work or the commit failed: nothing of
     *         it is committed, and the caller stops without deleting anything
     */
    <T> T commit(Work<T> work) throws FencedException;

    /** Work done in a fenced transaction. */
    @FunctionalInterface
    interface Work<T> {
        T run(Connection session) throws SQLException;
    }
}
