package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.FiringResult;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.Progress;
import io.uplink.api.mail.Outbox;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.Format;
import io.uplink.shell.internal.UserError;

import java.io.PrintStream;
import java.util.Map;
import java.util.TreeMap;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "connection", name = "status", description = "Shows one connection: its settings (secrets masked), state, links and last firing, one key: value line each")
@Service
public class StatusCommand implements Action {

    @Argument(index = 0, name = "id", description = "The connection id", required = true)
    @Completion(ConnectionIdCompleter.class)
    String id;

    @Reference
    ConnectionService connections;

    @Reference(optional = true)
    Outbox outbox;

    @Reference(optional = true)
    ScheduleService schedule;

    @Override
    public Object execute() throws Exception {
        ConnectionStatus c = connections.status(id).orElseThrow(() -> UserError.of(this, new NoSuchConnectionException(id).getMessage()));
        PrintStream out = System.out;
        line(out, "id", c.id());
        line(out, "name", c.name());
        line(out, "method", c.method());
        line(out, "default", String.valueOf(c.isDefault()));
        line(out, "order", String.valueOf(c.order()));
        line(out, "state", c.state().name());
        line(out, "reason", c.reason());
        if (c.node() != null) {
            // in a cluster only: the node that runs its firing now, or ran the last one
            line(out, "node", c.node());
        }
        line(out, "file", c.file());
        line(out, "sender", c.sender());
        line(out, "collectors", Format.list(c.collectors()));
        line(out, "fallback", c.fallback());
        line(out, "problems", c.problems().isEmpty() ? null : String.join("; ", c.problems()));
        FiringResult last = c.lastResult();
        line(out, "lastResult", last == null ? null : Format.result(last) + " (firing " + last.firingId() + ")");
        line(out, "lastFired", Format.time(c.lastFired()));
        Progress p = c.progress();
        if (p != null) {
            line(out, "progress", progress(p));
        }
        if (outbox != null) {
            line(out, "outbox", String.valueOf(outbox.size()));
        }
        if (schedule != null) {
            String next = schedule.nextFiring(c.id()).map(Format::time).orElse(null);
            line(out, "nextFiring", schedule.isPaused() ? "paused" : next);
        }
        for (Map.Entry<String, String> s : new TreeMap<>(c.settings()).entrySet()) {
            line(out, "setting." + s.getKey(), s.getValue());
        }
        return null;
    }

    /** A progress for people: {@code SEND sending 3 of 10 (3/10)}. */
    static String progress(Progress p) {
        StringBuilder s = new StringBuilder(p.phase().name());
        if (p.message() != null && !p.message().isBlank()) {
            s.append(' ').append(p.message());
        }
        if (p.total() > 0) {
            s.append(" (").append(p.done()).append('/').append(p.total()).append(')');
        } else if (p.done() > 0) {
            s.append(" (").append(p.done()).append(')');
        }
        return s.toString();
    }

    private static void line(PrintStream out, String key, String value) {
        out.println(key + ": " + Format.text(value));
    }
}
