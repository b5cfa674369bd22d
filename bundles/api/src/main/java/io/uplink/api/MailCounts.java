package io.uplink.api;

/**
 * What the mail tasks of a firing did.
 *
 * @param sent messages the SMTP server accepted
 * @param deferred messages kept in the queue for a later try (temporary failures, limits)
 * @param failed messages that failed permanently
 * @param collected messages collected and safely stored
 * @param skipped messages left on the server (too large, or already collected)
 */
public record MailCounts(int sent, int deferred, int failed, int collected, int skipped) {

    /** Nothing done. */
    public static final MailCounts NONE = new MailCounts(0, 0, 0, 0, 0);

    /** The sum of two counts. */
    public MailCounts plus(MailCounts o) {
        return new MailCounts(sent + o.sent, deferred + o.deferred, failed + o.failed,
                collected + o.collected, skipped + o.skipped);
    }
}
