package io.uplink.mail.internal.collect;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.ConnectionService;
import io.uplink.api.schedule.ScheduleService;

/**
 * When a collector with {@code idle = true} idles: while one of its linked connections is online and due.
 *
 * <ul>
 *   <li><b>online</b>: the connection is configured and usable (not in ERROR, WAITING or REJECTED) and its
 *   method is {@code network}, which assumes the link is always there. A dial-up connection (or any other
 *   method) never idles: holding a line open for IDLE is what dial-up must not do.</li>
 *   <li><b>due</b>: {@link ScheduleService#due(String)}: the schedule is not paused, no deny window covers
 *   now, and an enabled schedule item aimed at the connection covers now (an {@code every} item within its
 *   {@code between} window on one of its {@code days}, an {@code at} item on one of its days, a {@code cron}
 *   item always). So idling fills the time between the item's firings, within its windows and days. Without
 *   the scheduler nothing is due.</li>
 * </ul>
 */
final class IdleGate {

    private IdleGate() {
    }

    /** The first of {@code linked} that is online and due, or why none is. */
    static IdleSession.Verdict check(List<String> linked, ConnectionService connections, ScheduleService schedule) {
        if (connections == null) {
            return IdleSession.Verdict.notDue("the connections (Uplink core) are not running");
        }
        if (schedule == null) {
            return IdleSession.Verdict.notDue("the schedule (feature uplink-scheduler) is not installed, so no "
                    + "connection is due");
        }
        if (schedule.isPaused()) {
            return IdleSession.Verdict.notDue("the schedule is paused");
        }
        List<String> why = new ArrayList<>();
        for (String id : linked) {
            Optional<ConnectionStatus> found = connections.status(id);
            if (found.isEmpty()) {
                why.add("connection '" + id + "' is not configured");
                continue;
            }
            ConnectionStatus c = found.get();
            if (!"network".equals(c.method())) {
                why.add("connection '" + id + "' uses method '" + c.method() + "'; only network connections idle");
                continue;
            }
            if (c.state() == ConnectionState.ERROR || c.state() == ConnectionState.WAITING
                    || c.state() == ConnectionState.REJECTED) {
                why.add("connection '" + id + "' is " + c.state());
                continue;
            }
            if (!schedule.due(id)) {
                why.add("connection '" + id + "' is not due (outside its schedule items' windows or days, or denied)");
                continue;
            }
            return IdleSession.Verdict.due(id);
        }
        return IdleSession.Verdict.notDue(why.isEmpty() ? "no connection is linked" : String.join("; ", why));
    }
}
