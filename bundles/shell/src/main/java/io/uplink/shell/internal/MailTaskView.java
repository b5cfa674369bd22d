package io.uplink.shell.internal;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskStatus;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.apache.karaf.shell.support.table.ShellTable;

/** How {@code sender:*} and {@code collector:*} show Mail Senders and Collectors: one table, one status layout. */
public final class MailTaskView {

    private MailTaskView() {
    }

    /** The commands' one precondition: the optional mail bundle is there. */
    public static MailTaskService require(MailTaskService tasks) {
        if (tasks == null) {
            throw new IllegalStateException("the mail bundle is not installed (no Mail Senders or Collectors)");
        }
        return tasks;
    }

    /**
     * The connections that run it: for a sender, those naming it in {@code sender}; for a collector, those in its
     * {@code connections} key, a missing one marked {@code (not configured)}.
     */
    public static List<String> linked(MailTaskStatus t, ConnectionService connections) {
        List<ConnectionStatus> all = connections == null ? List.of() : connections.list();
        return linked(t, all, ids(all));
    }

    private static Set<String> ids(List<ConnectionStatus> all) {
        Set<String> ids = new HashSet<>();
        for (ConnectionStatus c : all) {
            ids.add(c.id());
        }
        return ids;
    }

    private static List<String> linked(MailTaskStatus t, List<ConnectionStatus> all, Set<String> known) {
        List<String> out = new ArrayList<>();
        if (MailTaskStatus.SENDER.equals(t.kind())) {
            for (ConnectionStatus c : all) {
                if (t.id().equals(c.sender())) {
                    out.add(c.id());
                }
            }
        } else {
            for (String id : t.connections()) {
                out.add(known.contains(id) ? id : id + " (not configured)");
            }
        }
        return out;
    }

    /** The table of {@code sender:list} and {@code collector:list}. */
    public static void table(List<MailTaskStatus> tasks, ConnectionService connections, PrintStream out) {
        ShellTable table = new ShellTable();
        table.column("Id");
        table.column("State");
        table.column("Server").maxSize(40).wrap();
        table.column("Connections").maxSize(30).wrap();
        table.column("Last run");
        table.column("Last result / error").maxSize(60).wrap();
        // One listing for the whole table: asking the engine once per row made a thousand collectors take seconds.
        List<ConnectionStatus> all = connections == null ? List.of() : connections.list();
        Set<String> known = ids(all);
        for (MailTaskStatus t : tasks) {
            String result = !t.error().isEmpty() ? t.error()
                    : !t.lastError().isEmpty() ? t.lastResult() + ": " + t.lastError() : t.lastResult();
            if (!t.warnings().isEmpty()) {
                result = (result.isEmpty() ? "" : result + "; ") + String.join("; ", t.warnings());
            }
            table.addRow().addContent(t.id(), t.state(), Format.text(t.server()),
                    Format.list(linked(t, all, known)), Format.time(t.lastRun()), Format.text(result));
        }
        table.print(out);
    }

    /** The {@code key: value} lines of {@code sender:status} and {@code collector:status}, secrets masked. */
    public static void status(MailTaskStatus t, ConnectionService connections, PrintStream out) {
        line(out, "id", t.id());
        line(out, "state", t.state().name());
        line(out, "error", t.error());
        line(out, "warnings", t.warnings().isEmpty() ? null : String.join("; ", t.warnings()));
        line(out, "file", t.file());
        line(out, "server", t.server());
        line(out, "connections", Format.list(linked(t, connections)));
        line(out, "lastRun", Format.time(t.lastRun()));
        line(out, "lastResult", t.lastResult());
        line(out, "lastError", t.lastError());
        for (Map.Entry<String, String> s : new TreeMap<>(t.settings()).entrySet()) {
            line(out, "setting." + s.getKey(), s.getValue());
        }
    }

    private static void line(PrintStream out, String key, String value) {
        out.println(key + ": " + Format.text(value));
    }
}
