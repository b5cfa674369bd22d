package io.uplink.api.mail;

/**
 * Where a Mail Sender or Mail Collector stands.
 *
 * @since 1.2
 */
public enum MailTaskState {
    /** Configured and ready to run when a connection fires. */
    READY,
    /** Running in a firing now. */
    RUNNING,
    /** A collector with {@code enabled = false}: kept, never run. */
    DISABLED,
    /** Its configuration cannot be used; {@link MailTaskStatus#error()} says which file and key to fix. */
    ERROR
}
