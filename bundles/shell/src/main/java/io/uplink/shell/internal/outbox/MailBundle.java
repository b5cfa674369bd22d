package io.uplink.shell.internal.outbox;

/** The outbox commands' one precondition: the optional mail bundle is there. */
final class MailBundle {

    private MailBundle() {
    }

    static <T> T require(T service) {
        if (service == null) {
            throw new IllegalStateException("the mail bundle is not installed (no outbox)");
        }
        return service;
    }

    static IllegalArgumentException noSuchMessage(String id) {
        return new IllegalArgumentException("no message '" + id + "' in the outbox");
    }
}
