package io.uplink.api.mail;

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;

/**
 * The local mailboxes (Maildirs) Uplink delivers into, for bundles that need to hand a message to a local
 * user without going through an SMTP server, such as error notices to the postmaster.
 *
 * @since 1.1
 */
public interface LocalMailboxes {

    /** The mailbox that receives bounces and notices ({@code postmaster} unless configured otherwise). */
    String postmaster();

    /**
     * Stores an RFC 5322 message durably in a local mailbox (forced to disk before this returns).
     *
     * @throws IllegalArgumentException when {@code mailbox} is not a usable mailbox name
     */
    void deliver(String mailbox, InputStream message) throws IOException;

    /**
     * The domains whose mail stays local (lower case): mail submitted for {@code user@domain} goes to the
     * local mailbox {@code user} instead of the outbox.
     *
     * @since 1.2
     */
    default Set<String> localDomains() {
        return Set.of();
    }
}
