package io.uplink.core.internal;

import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.MailSender;

import java.util.List;

/** Where the engine finds the mail tasks of a connection (the registered MailSender/MailCollector services). */
interface MailTasks {

    /** The sender with this id, or {@code null}. */
    MailSender sender(String id);

    /** Whether any sender is registered at all (that is, whether the mail bundle is installed). */
    boolean anySender();

    /** The enabled collectors linked to a connection, lowest priority first, then by id. */
    List<MailCollector> collectors(String connectionId);

    /** No mail bundle: no sender, no collector. */
    MailTasks NONE = new MailTasks() {
        @Override
        public MailSender sender(String id) {
            return null;
        }

        @Override
        public boolean anySender() {
            return false;
        }

        @Override
        public List<MailCollector> collectors(String connectionId) {
            return List.of();
        }
    };
}
