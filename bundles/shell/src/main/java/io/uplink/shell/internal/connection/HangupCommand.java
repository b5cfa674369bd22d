package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.shell.internal.UserError;

import java.util.Optional;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "connection", name = "hangup", description = "Stops a connection's running firing after the step in progress and takes its link down")
@Service
public class HangupCommand implements Action {

    @Argument(index = 0, name = "id", description = "The connection id", required = true)
    @Completion(ConnectionIdCompleter.class)
    String id;

    @Reference
    ConnectionService connections;

    @Override
    public Object execute() throws Exception {
        Optional<ConnectionStatus> status = connections.status(id);
        if (status.isEmpty()) {
            throw UserError.of(this, new NoSuchConnectionException(id).getMessage());
        }
        if (status.get().state() == ConnectionState.REMOTE) {
            // in a cluster: only the node that runs the firing can stop it
            throw UserError.of(this, "connection '" + id + "' fires on node '" + status.get().node()
                    + "': run connection:hangup " + id + " on that node");
        }
        if (connections.hangup(id)) {
            System.out.println("connection '" + id + "': hanging up");
        } else {
            System.out.println("connection '" + id + "': nothing to hang up (not firing, no link up)");
        }
        return null;
    }
}
