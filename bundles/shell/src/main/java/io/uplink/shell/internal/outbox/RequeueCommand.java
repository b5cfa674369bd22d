package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.FailedMail;

import java.util.Optional;

import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "outbox", name = "requeue", description = "Puts a failed message (or all with --all) back into the queue for the recipients that failed, due at the next firing")
@Service
public class RequeueCommand implements Action {

    @Argument(index = 0, name = "id", description = "The failed message's id (outbox:failed)")
    @Completion(FailedIdCompleter.class)
    String id;

    @Option(name = "--all", aliases = "-a", description = "Every failed message")
    boolean all;

    @Reference(optional = true)
    FailedMail failedMail;

    @Override
    public Object execute() throws Exception {
        FailedMail box = MailBundle.require(this, failedMail);
        if (all == (id != null)) {
            throw UserError.of(this, "name one failed message id, or use --all");
        }
        if (all) {
            System.out.println(box.requeueAll() + " message(s) back in the queue, due at the next firing");
            return null;
        }
        Optional<String> queued = box.requeue(id);
        if (queued.isEmpty()) {
            throw UserError.of(this, "no message '" + id + "' in the failed folder (outbox:failed lists them)");
        }
        System.out.println("failed message '" + id + "' is back in the queue as '" + queued.get()
                + "', due at the next firing");
        return null;
    }
}
