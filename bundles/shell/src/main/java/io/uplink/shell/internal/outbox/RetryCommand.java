package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;
import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "outbox", name = "retry", description = "Makes a waiting message (or all with --all) due at the next firing, whatever its retry time")
@Service
public class RetryCommand implements Action {

    @Argument(index = 0, name = "id", description = "The message id")
    @Completion(OutboxIdCompleter.class)
    String id;

    @Option(name = "--all", aliases = "-a", description = "Every waiting message")
    boolean all;

    @Reference(optional = true)
    Outbox outbox;

    @Override
    public Object execute() throws Exception {
        Outbox box = MailBundle.require(this, outbox);
        if (all == (id != null)) {
            throw UserError.of(this, "name one message id, or use --all");
        }
        if (all) {
            System.out.println(box.retryAll() + " message(s) due at the next firing");
        } else if (box.retry(id)) {
            System.out.println("message '" + id + "' is due at the next firing");
        } else {
            throw MailBundle.noSuchMessage(this, id);
        }
        return null;
    }
}
