package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;

/** The outbox commands' one precondition: the optional mail bundle is there. */
final class MailBundle {

    private MailBundle() {
    }

    static Outbox require(Outbox outbox) {
        if (outbox == null) {
            throw new IllegalStateException("the mail bundle is not installed (no outbox)");
        }
        return outbox;
    }

    static IllegalArgumentException noSuchMessage(String id) {
        return new IllegalArgumentException("no message '" + id + "' in the outbox");
    }
}
