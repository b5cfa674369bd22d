package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.Format;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "connection", name = "list", description = "Lists the configured connections with their state and last firing (for a connection in ERROR: the reason)")
@Service
public class ListCommand implements Action {

    @Reference
    ConnectionService connections;

    @Reference(optional = true)
    ScheduleService schedule;

    /**
     * The problems in a table's width: {@code sender 'smarthost' is in ERROR} (connection:status has the whole
     * text), {@code unknown key 'sendr'; did you mean 'sender'?}.
     */
    static List<String> shortProblems(ConnectionStatus c) {
        List<String> out = new java.util.ArrayList<>();
        for (String p : c.problems()) {
            int colon = p.indexOf(" is in ERROR: ");
            out.add(colon > 0 ? p.substring(0, colon + " is in ERROR".length()) : p.replaceFirst(" in \\S+\\.cfg", ""));
        }
        return out;
    }

    @Override
    public Object execute() throws Exception {
        PrintStream out = System.out;
        if (schedule != null && schedule.isPaused()) {
            out.println("The schedule is paused: no scheduled firings until schedule:resume.");
        }
        List<ConnectionStatus> all = connections.list();
        // in a cluster: which node runs or last ran each connection; a single node has none, and no such column
        boolean nodes = all.stream().anyMatch(c -> c.node() != null);
        ShellTable table = new ShellTable();
        table.column("Id");
        table.column("Name").maxSize(40);
        table.column("Method");
        table.column("Default");
        table.column("State");
        if (nodes) {
            table.column("Node");
        }
        table.column("Last result").maxSize(60);
        table.column("Last fired");
        table.column("Problems").maxSize(50);
        for (ConnectionStatus c : all) {
            // a connection in ERROR shows why, not an older result of a firing before the error
            String last = c.state() == ConnectionState.ERROR && c.reason() != null ? c.reason() : Format.result(c.lastResult());
            List<Object> row = new ArrayList<>(List.of(c.id(), Format.wrap(Format.text(c.name()), 40),
                    Format.text(c.method()), c.isDefault() ? "yes" : "no", c.state()));
            if (nodes) {
                row.add(Format.text(c.node()));
            }
            row.addAll(List.of(Format.wrap(last, 60), Format.time(c.lastFired()), Format.wrap(Format.list(shortProblems(c)), 50)));
            table.addRow().addContent(row);
        }
        table.print(out);
        if (all.isEmpty()) {
            out.println("No connection is configured: add etc/io.uplink.connection-<id>.cfg files.");
        }
        return null;
    }
}
