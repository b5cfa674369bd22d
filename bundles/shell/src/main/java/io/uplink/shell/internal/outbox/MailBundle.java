package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;
import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.support.CommandException;

/** The outbox commands' one precondition: the optional mail bundle is there. */
final class MailBundle {

    private MailBundle() {
    }

    static Outbox require(Object command, Outbox outbox) throws CommandException {
        if (outbox == null) {
            throw UserError.of(command, "the mail bundle is not installed (no outbox)");
        }
        return outbox;
    }

    static CommandException noSuchMessage(Object command, String id) {
        return UserError.of(command, "no message '" + id + "' in the outbox");
    }
}
