package io.uplink.cluster.internal;

import io.uplink.api.cluster.Cluster;
import io.uplink.api.cluster.ClusterNode;

import java.io.PrintStream;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "cluster", name = "nodes", description = "Lists the cluster's nodes: last check-in, alive or not, "
        + "and the connections each one fires now")
@Service
public class NodesCommand implements Action {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneId.systemDefault());

    @Reference
    Cluster cluster;

    @Override
    public Object execute() {
        print(cluster, System.out);
        return null;
    }

    static void print(Cluster cluster, PrintStream out) {
        List<ClusterNode> nodes = cluster.nodes();
        ShellTable table = new ShellTable();
        table.column("Node");
        table.column("Last check-in");
        table.column("State");
        table.column("Firing");
        for (ClusterNode n : nodes) {
            String id = n.id().equals(cluster.nodeId()) ? n.id() + " (this node)" : n.id();
            table.addRow().addContent(id, TIME.format(n.lastCheckin()), n.alive() ? "alive" : "dead",
                    n.firings().isEmpty() ? "-" : String.join(", ", n.firings()));
        }
        table.print(out);
    }
}
