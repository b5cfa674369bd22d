package io.uplink.web.internal.command;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/**
 * Completes {@code connection:log}'s id. Karaf looks a command's completer up in the command's own bundle, so
 * the shell bundle's completer cannot serve this command of the web bundle.
 */
@Service
public class ConnectionIds implements Completer {

    @Reference
    ConnectionService connections;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        return new StringsCompleter(connections.list().stream().map(ConnectionStatus::id).toList())
                .complete(session, commandLine, candidates);
    }
}
