package io.uplink.shell.internal.outbox;

import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.support.CommandException;

/** The outbox commands' one precondition: the optional mail bundle is there. */
final class MailBundle {

    private MailBundle() {
    }

    static <T> T require(Object command, T service) throws CommandException {
        if (service == null) {
            throw UserError.of(command, "the mail bundle is not installed (no outbox)");
        }
        return service;
    }

    static CommandException noSuchMessage(Object command, String id) {
        return UserError.of(command, "no message '" + id + "' in the outbox");
    }
}
