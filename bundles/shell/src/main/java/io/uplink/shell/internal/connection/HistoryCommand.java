package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.FiringResult;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.shell.internal.Format;
import io.uplink.shell.internal.UserError;

import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "connection", name = "history", description = "Lists past firings, newest first")
@Service
public class HistoryCommand implements Action {

    @Argument(index = 0, name = "id", description = "Only this connection's firings")
    @Completion(ConnectionIdCompleter.class)
    String id;

    @Option(name = "--limit", aliases = "-n", description = "At most this many firings (default 20)")
    int limit = 20;

    @Reference
    ConnectionService connections;

    @Override
    public Object execute() throws Exception {
        if (limit < 1) {
            throw UserError.of(this, "--limit must be at least 1, got " + limit);
        }
        if (id != null && connections.status(id).isEmpty()) {
            throw UserError.of(this, new NoSuchConnectionException(id).getMessage());
        }
        List<FiringResult> firings = connections.history(id, limit);
        // in a cluster: the node each firing ran on; a single node has none, and no such column
        boolean nodes = firings.stream().anyMatch(f -> f.node() != null);
        ShellTable table = new ShellTable();
        table.column("Firing");
        table.column("Connection");
        if (nodes) {
            table.column("Node");
        }
        table.column("Cause");
        table.column("Started");
        table.column("Seconds").alignRight();
        table.column("Result");
        table.column("Summary").maxSize(80);
        for (FiringResult f : firings) {
            List<Object> row = new ArrayList<>(List.of(f.firingId(), f.connectionId()));
            if (nodes) {
                row.add(Format.text(f.node()));
            }
            row.addAll(List.of(Format.text(f.cause()), Format.time(f.started()), Format.seconds(f.duration()), f.outcome(),
                    Format.wrap(Format.text(f.summary()), 80)));
            table.addRow().addContent(row);
        }
        table.print(System.out);
        return null;
    }
}
