package io.uplink.shell.internal.sender;

import io.uplink.api.ConnectionService;
import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.shell.internal.MailTaskView;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "sender", name = "status", description = "Shows one Mail Sender: state, error, file, server, linked connections, last run, settings (secrets masked)")
@Service
public class StatusCommand implements Action {

    @Argument(index = 0, name = "id", description = "The sender id", required = true)
    @Completion(SenderIdCompleter.class)
    String id;

    @Reference(optional = true)
    MailTaskService tasks;

    @Reference(optional = true)
    ConnectionService connections;

    @Override
    public Object execute() throws Exception {
        MailTaskStatus t = MailTaskView.require(tasks).sender(id)
                .orElseThrow(() -> new IllegalArgumentException("sender '" + id + "' is not configured"));
        MailTaskView.status(t, connections, System.out);
        return null;
    }
}
