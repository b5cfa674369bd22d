package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the ids of the configured connections. */
@Service
public class ConnectionIdCompleter implements Completer {

    @Reference
    ConnectionService connections;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        List<String> ids = connections.list().stream().map(ConnectionStatus::id).collect(Collectors.toList());
        return new StringsCompleter(ids).complete(session, commandLine, candidates);
    }
}
