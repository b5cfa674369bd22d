package io.uplink.api.mail;

import java.util.Optional;

/**
 * Empties the outgoing queue through an SMTP relay. Registered as a service with the property
 * {@link #ID} (the id connections name in {@code sender = <id>}).
 */
public interface MailSender {

    /** Service property: the sender's id. */
    String ID = "uplink.sender.id";

    /** The sender's id. */
    String id();

    /**
     * Sends while the link is up. Never throws for a mail problem: failures are in the report.
     */
    SendReport send(TaskContext context) throws InterruptedException;

    /**
     * Why this sender cannot work as configured (naming the item, the file and the key), or empty. A sender in
     * error stays registered so that a firing reports what to fix; connections that use it show this problem.
     *
     * @since 1.2
     */
    default Optional<String> problem() {
        return Optional.empty();
    }
}
