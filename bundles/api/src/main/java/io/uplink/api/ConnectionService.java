package io.uplink.api;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The connections of this Uplink: their status, firing them, hanging them up, their history.
 * Registered once by the core bundle.
 */
public interface ConnectionService {

    /** Every configured connection, sorted by id, including those in ERROR, WAITING or REJECTED state. */
    List<ConnectionStatus> list();

    /** One connection's status. */
    Optional<ConnectionStatus> status(String id);

    /**
     * Fires a connection and returns at once. A fire of a connection that is already firing is coalesced:
     * every such request shares one follow-up run, which starts when the current one ends.
     *
     * @param cause who asks, shown in the history ({@code shell}, {@code schedule:<id>}, {@code web}, ...)
     * @throws NoSuchConnectionException when no connection has that id
     */
    Firing fire(String id, String cause);

    /**
     * {@link #fire(String, String)} for a schedule's slot. In a cluster every node's scheduler asks for the same
     * slot; the slot lets the cluster fire each (connection, slot) once. A single node fires as
     * {@link #fire(String, String)} does (since 1.2).
     *
     * @param slot the instant the schedule was due, or {@code null} for a fire not tied to one
     */
    default Firing fire(String id, String cause, Instant slot) {
        return fire(id, cause);
    }

    /** {@link #fire(String, String)} with cause {@code api}. */
    default Firing fire(String id) {
        return fire(id, "api");
    }

    /**
     * Fires every connection marked {@code default = true}, one after the other (by {@code order}, then id),
     * never two at once. Returns at once, with one handle per default connection in the order they will run.
     */
    List<Firing> fireDefaults(String cause);

    /**
     * {@link #fireDefaults(String)} for a schedule's slot, each default fired as by
     * {@link #fire(String, String, Instant)} (since 1.2).
     */
    default List<Firing> fireDefaults(String cause, Instant slot) {
        return fireDefaults(cause);
    }

    /** {@link #fireDefaults(String)} with cause {@code api}. */
    default List<Firing> fireDefaults() {
        return fireDefaults("api");
    }

    /**
     * Hangs a connection up: stops its running firing after the step in progress and takes the link down,
     * or takes down a link its method keeps up while idle.
     *
     * @return whether there was anything to hang up
     * @throws NoSuchConnectionException when no connection has that id
     */
    boolean hangup(String id);

    /**
     * Past firings, newest first.
     *
     * @param id a connection id, or {@code null} for all connections
     * @param limit at most this many
     */
    List<FiringResult> history(String id, int limit);

    /** The installed connection methods, sorted by name. */
    List<MethodInfo> methods();
}
