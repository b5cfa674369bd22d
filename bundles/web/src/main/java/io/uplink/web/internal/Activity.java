package io.uplink.web.internal;

import io.uplink.api.Events;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the connections did, as events arrive: recent entries for the page, live subscribers (the SSE
 * stream) and the per-connection activity log files. The mail bundle sends the error notices and reports each
 * as a {@code NOTICE} event, which lands here like any other. OSGi-free; fed by {@link ActivityComponent}.
 */
final class Activity {

    private static final Logger LOG = LoggerFactory.getLogger(Activity.class);
    static final int RECENT = 500;

    private final Clock clock;
    private volatile ActivityLog log;
    private final Deque<ActivityEntry> recent = new ArrayDeque<>();
    private final List<Consumer<ActivityEntry>> subscribers = new CopyOnWriteArrayList<>();
    private long seq;

    Activity(Clock clock, ActivityLog log) {
        this.clock = clock;
        this.log = log;
    }

    void log(ActivityLog log) {
        this.log = log;
    }

    ActivityLog log() {
        return log;
    }

    /** Takes one event ({@code io/uplink/connection/<TYPE>}). */
    void onEvent(String topic, Map<String, Object> properties) {
        String type = topic.substring(topic.lastIndexOf('/') + 1);
        String connection = String.valueOf(properties.getOrDefault(Events.CONNECTION_ID, ""));
        ActivityEntry e = add(type, connection, text(type, properties), properties);
        if (!"PROGRESS".equals(type)) {
            // progress is for the live bar; the log keeps what happened
            write(e);
        }
    }

    private synchronized ActivityEntry add(String type, String connection, String text, Map<String, Object> props) {
        Map<String, Object> clean = new HashMap<>();
        props.forEach((k, v) -> {
            if (v != null && !k.startsWith("event.") && !k.equals("timestamp")) {
                clean.put(k, v instanceof String || v instanceof Number || v instanceof Boolean ? v : v.toString());
            }
        });
        ActivityEntry e = new ActivityEntry(++seq, clock.instant(), type, connection, text, clean);
        recent.addLast(e);
        if (recent.size() > RECENT) {
            recent.removeFirst();
        }
        for (Consumer<ActivityEntry> s : subscribers) {
            try {
                s.accept(e);
            } catch (RuntimeException ex) {
                LOG.debug("activity subscriber failed: {}", ex.toString());
            }
        }
        return e;
    }

    private void write(ActivityEntry e) {
        if (e.connection().isEmpty()) {
            return;
        }
        try {
            log.append(e.connection(), e.line());
        } catch (RuntimeException ex) {
            LOG.warn("connection '{}': {}", e.connection(), ex.getMessage());
        }
    }

    /** Recent entries, oldest first, of one connection (or all when null), after {@code afterSeq}. */
    synchronized List<ActivityEntry> recent(String connection, long afterSeq, int limit) {
        List<ActivityEntry> out = new ArrayList<>();
        for (var it = recent.descendingIterator(); it.hasNext() && out.size() < limit;) {
            ActivityEntry e = it.next();
            if (e.seq() <= afterSeq) {
                break;
            }
            if (connection == null || connection.equals(e.connection())) {
                out.add(0, e);
            }
        }
        return out;
    }

    /**
     * Subscribes to new entries. The entries up to now are handed over first, under the same lock, so a
     * subscriber sees none twice and misses none.
     */
    synchronized Runnable subscribe(long afterSeq, Consumer<ActivityEntry> subscriber) {
        for (ActivityEntry e : recent(null, afterSeq, RECENT)) {
            subscriber.accept(e);
        }
        subscribers.add(subscriber);
        return () -> subscribers.remove(subscriber);
    }

    static String text(String type, Map<String, Object> p) {
        return switch (type) {
            case "FIRED" -> "fired by " + p.getOrDefault(Events.CAUSE, "?");
            case "CONNECTED" -> "connected" + opt(": ", p.get(Events.MESSAGE));
            case "PHASE" -> "phase " + p.getOrDefault(Events.PHASE, "?");
            case "PROGRESS" -> p.getOrDefault(Events.PHASE, "") + opt(": ", p.get(Events.MESSAGE))
                    + count(p.get(Events.DONE), p.get(Events.TOTAL));
            case "SENT" -> "sent " + p.getOrDefault(Events.SENT_COUNT, 0) + ", deferred "
                    + p.getOrDefault(Events.DEFERRED_COUNT, 0) + ", failed " + p.getOrDefault(Events.FAILED_COUNT, 0);
            case "COLLECTED" -> "collected " + p.getOrDefault(Events.COLLECTED_COUNT, 0) + ", skipped "
                    + p.getOrDefault(Events.SKIPPED_COUNT, 0);
            case "DISCONNECTED" -> "disconnected, " + p.getOrDefault(Events.OUTCOME, "?")
                    + seconds(p.get(Events.DURATION_MS)) + opt(": ", p.get(Events.MESSAGE));
            case "FAILED" -> p.getOrDefault(Events.OUTCOME, "FAILED")
                    + opt(" in ", p.get(Events.PHASE)) + opt(": ", p.get(Events.ERROR));
            case "STATE" -> "state " + p.getOrDefault(Events.STATE_NAME, "?");
            default -> String.valueOf(p.getOrDefault(Events.MESSAGE, type));
        };
    }

    private static String opt(String sep, Object v) {
        return v == null || v.toString().isEmpty() ? "" : sep + v;
    }

    private static String count(Object done, Object total) {
        if (done == null) {
            return "";
        }
        return " (" + done + (total == null || "-1".equals(total.toString()) ? "" : "/" + total) + ")";
    }

    private static String seconds(Object ms) {
        if (!(ms instanceof Number n)) {
            return "";
        }
        return String.format(java.util.Locale.ROOT, " in %.1fs", n.longValue() / 1000.0);
    }
}
