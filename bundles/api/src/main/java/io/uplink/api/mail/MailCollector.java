package io.uplink.api.mail;

import java.util.List;
import java.util.Optional;

/**
 * Collects one POP3/IMAP account into local mailboxes. Registered as a service with the properties
 * {@link #ID}, {@link #CONNECTIONS} (the connection ids it is linked to), {@link #PRIORITY} and
 * {@link #ENABLED}.
 */
public interface MailCollector {

    /** Service property: the collector's id. */
    String ID = "uplink.collector.id";
    /** Service property: the ids of the connections that run it ({@code String[]}). */
    String CONNECTIONS = "uplink.collector.connections";
    /** Service property: lower runs first ({@code Integer}). */
    String PRIORITY = "uplink.collector.priority";
    /** Service property: whether it runs at all ({@code Boolean}). */
    String ENABLED = "uplink.collector.enabled";

    /** The collector's id. */
    String id();

    /** The connections it is linked to. */
    List<String> connections();

    /** Lower runs first. */
    int priority();

    /** Whether it runs. */
    boolean enabled();

    /** Collects while the link is up. Never throws for a mail problem: failures are in the report. */
    CollectReport collect(TaskContext context) throws InterruptedException;

    /**
     * Why this collector cannot work as configured (naming the item, the file and the key), or empty. A collector in
     * error stays registered so that a firing reports what to fix; connections that use it show this problem.
     *
     * @since 1.2
     */
    default Optional<String> problem() {
        return Optional.empty();
    }
}
