package io.uplink.api.mail;

import java.util.List;
import java.util.Optional;

/**
 * The Mail Senders and Mail Collectors of this Uplink and how they stand, including those whose configuration
 * is in error. Registered by the mail bundle, which owns their state.
 *
 * @since 1.2
 */
public interface MailTaskService {

    /** Every configured Mail Sender, sorted by id. */
    List<MailTaskStatus> senders();

    /** One Mail Sender. */
    Optional<MailTaskStatus> sender(String id);

    /** Every configured Mail Collector, sorted by id. */
    List<MailTaskStatus> collectors();

    /** One Mail Collector. */
    Optional<MailTaskStatus> collector(String id);
}
