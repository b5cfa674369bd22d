package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "outbox", name = "delete", description = "Removes a waiting message from the outgoing queue without sending it")
@Service
public class DeleteCommand implements Action {

    @Argument(index = 0, name = "id", description = "The message id", required = true)
    @Completion(OutboxIdCompleter.class)
    String id;

    @Reference(optional = true)
    Outbox outbox;

    @Override
    public Object execute() throws Exception {
        if (!MailBundle.require(this, outbox).delete(id)) {
            throw MailBundle.noSuchMessage(this, id);
        }
        System.out.println("message '" + id + "' deleted from the outbox");
        return null;
    }
}
