package io.uplink.shell.internal.sender;

import io.uplink.api.ConnectionService;
import io.uplink.api.mail.MailTaskService;
import io.uplink.shell.internal.MailTaskView;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "sender", name = "list", description = "Lists the Mail Senders: state, server, linked connections, last run and last error")
@Service
public class ListCommand implements Action {

    @Reference(optional = true)
    MailTaskService tasks;

    @Reference(optional = true)
    ConnectionService connections;

    @Override
    public Object execute() throws Exception {
        MailTaskView.table(MailTaskView.require(tasks).senders(), connections, System.out);
        return null;
    }
}
