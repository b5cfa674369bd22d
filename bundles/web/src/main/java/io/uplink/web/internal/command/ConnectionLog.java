package io.uplink.web.internal.command;

import io.uplink.api.ConnectionService;

import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code connection:log <id>}: the connection's activity log, oldest first, as kept under data/uplink/log. */
@Command(scope = "connection", name = "log", description = "Show a connection's activity log")
@Service
public class ConnectionLog implements Action {

    private static final Logger LOG = LoggerFactory.getLogger("io.uplink.shell");

    @Argument(name = "id", description = "The connection id", required = true)
    @Completion(ConnectionIds.class)
    String id;

    @Option(name = "-n", aliases = "--lines", description = "How many of the latest lines (default 50)")
    int lines = 50;

    @Reference
    ConnectionService connections;

    @Reference
    io.uplink.web.internal.ActivityLogs logs;

    @Override
    public Object execute() throws CommandException {
        if (connections.status(id).isEmpty()) {
            // a user's typo: one WARN line, and Karaf prints a CommandException without logging a stack trace
            String message = "connection '" + id + "' is not configured";
            LOG.warn("connection:log: {}", message);
            throw new CommandException(message);
        }
        List<String> out = logs.tail(id, Math.max(1, lines));
        if (out.isEmpty()) {
            System.out.println("connection '" + id + "': no activity logged yet");
        }
        for (String l : out) {
            System.out.println(l);
        }
        return null;
    }
}
