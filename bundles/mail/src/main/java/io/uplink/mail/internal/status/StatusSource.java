package io.uplink.mail.internal.status;

import io.uplink.api.mail.MailTaskStatus;

/** A Mail Sender or Mail Collector of this bundle, which can tell how it stands. */
public interface StatusSource {

    /** Its status now. */
    MailTaskStatus status();
}
