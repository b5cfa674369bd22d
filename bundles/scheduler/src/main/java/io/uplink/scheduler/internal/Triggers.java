package io.uplink.scheduler.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

/**
 * Firings not driven by the clock, checked about once a second:
 * <ul>
 * <li>the trigger file {@code connect.now}: fires the default connections and is removed. It stands for a person
 * (a script that cannot reach the shell), so like {@code connection:fire} it works while paused or denied.</li>
 * <li>priority mail: a newly queued message marked urgent fires the default connections, at most once per
 * {@link #PRIORITY_INTERVAL}; one arriving sooner fires when the interval is over.</li>
 * <li>{@code sendImmediately = true} on a connection: a newly queued message while that connection is online
 * (ONLINE, SENDING or COLLECTING) fires it again; the core coalesces that into one follow-up run right after the
 * current one, over the link that is still up. While it is not online, the message waits for the schedule.</li>
 * </ul>
 * Priority mail and sendImmediately are automatic firings: a pause or a deny window holds them back.
 *
 * <p>The outbox has no listener API: its {@code size()} is read each time (cheap) and its list only when the
 * size changed, to see which messages are new.
 */
final class Triggers {

    private static final Logger LOG = LoggerFactory.getLogger(Triggers.class);

    static final String CONNECT_NOW = "connect.now";
    static final String SEND_IMMEDIATELY = "sendImmediately";
    static final Duration PRIORITY_INTERVAL = Duration.ofMinutes(1);

    private final ConnectionService connections;
    private final Supplier<Outbox> outbox;
    private final Clock clock;
    private final Path triggerFile;
    private final BooleanSupplier blocked;

    private Outbox seenOutbox;
    private int lastSize = -1;
    private final Set<String> known = new HashSet<>();
    private boolean priorityPending;
    private Instant lastPriorityFiring;

    /**
     * @param uplinkData the folder that holds {@code connect.now} ({@code ${karaf.data}/uplink})
     * @param blocked whether automatic firings are held back now (paused or denied)
     */
    Triggers(ConnectionService connections, Supplier<Outbox> outbox, Clock clock, Path uplinkData,
            BooleanSupplier blocked) {
        this.connections = connections;
        this.outbox = outbox;
        this.clock = clock;
        this.triggerFile = uplinkData.resolve(CONNECT_NOW);
        this.blocked = blocked;
    }

    /** Runs every check; never throws (it runs on a timer). */
    synchronized void check() {
        try {
            checkTriggerFile();
        } catch (RuntimeException e) {
            LOG.warn("Checking {} failed: {}", triggerFile, e.toString());
        }
        try {
            checkOutbox();
        } catch (RuntimeException e) {
            LOG.warn("Checking the outgoing queue failed: {}", e.toString());
        }
    }

    /** Fires the defaults when {@code connect.now} exists, and removes it. */
    synchronized boolean checkTriggerFile() {
        boolean removed;
        try {
            removed = Files.deleteIfExists(triggerFile);
        } catch (IOException e) {
            LOG.warn("{} exists but cannot be removed ({}); not firing, so it does not fire again and again",
                    triggerFile, e.toString());
            return false;
        }
        if (removed) {
            LOG.info("{} found: firing the default connections", triggerFile);
            connections.fireDefaults(CONNECT_NOW);
        }
        return removed;
    }

    /** Looks for newly queued messages: priority mail, and sendImmediately connections. */
    synchronized void checkOutbox() {
        Outbox o = outbox.get();
        if (o != seenOutbox) {
            // a new outbox: what it holds now is not news
            seenOutbox = o;
            lastSize = -1;
            known.clear();
            if (o != null) {
                lastSize = o.size();
                for (QueuedMessage m : o.list()) {
                    known.add(m.id());
                }
            }
            return;
        }
        if (o == null) {
            return;
        }
        int size = o.size();
        boolean fresh = false;
        if (size != lastSize) {
            lastSize = size;
            List<QueuedMessage> now = o.list();
            Set<String> ids = new HashSet<>();
            for (QueuedMessage m : now) {
                ids.add(m.id());
                if (!known.contains(m.id())) {
                    fresh = true;
                    if (m.priority()) {
                        LOG.info("Priority message {} queued", m.id());
                        priorityPending = true;
                    }
                }
            }
            known.clear();
            known.addAll(ids);
        }
        if (blocked.getAsBoolean()) {
            return; // priority stays pending until the pause or deny window is over
        }
        Instant t = clock.instant();
        if (priorityPending
                && (lastPriorityFiring == null || !t.isBefore(lastPriorityFiring.plus(PRIORITY_INTERVAL)))) {
            priorityPending = false;
            lastPriorityFiring = t;
            LOG.info("Priority mail queued: firing the default connections");
            connections.fireDefaults("priority-mail");
        }
        if (fresh) {
            for (ConnectionStatus c : connections.list()) {
                if (isOnline(c.state()) && "true".equalsIgnoreCase(c.settings().getOrDefault(SEND_IMMEDIATELY, ""))) {
                    LOG.info("Mail queued while connection '{}' is online and sendImmediately = true: firing it again",
                            c.id());
                    connections.fire(c.id(), "send-immediately");
                }
            }
        }
    }

    /** Online here, or (in a cluster) firing on another node, whose phase this node does not see. */
    private static boolean isOnline(ConnectionState s) {
        return s == ConnectionState.ONLINE || s == ConnectionState.SENDING || s == ConnectionState.COLLECTING
                || s == ConnectionState.REMOTE;
    }
}
