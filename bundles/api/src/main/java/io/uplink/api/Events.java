package io.uplink.api;

/**
 * EventAdmin topics and property names of the events Uplink posts while connections fire. Every event
 * carries {@link #CONNECTION_ID}, {@link #CONNECTION_NAME} and {@link #FIRING_ID}; none carries a password.
 */
public final class Events {

    /** Prefix of every topic. */
    public static final String TOPIC_PREFIX = "io/uplink/connection/";
    /** Subscribe to this to see every Uplink connection event. */
    public static final String TOPIC_ALL = TOPIC_PREFIX + "*";

    /** A firing started (after waiting for its turn). */
    public static final String FIRED = TOPIC_PREFIX + "FIRED";
    /** The link is up. */
    public static final String CONNECTED = TOPIC_PREFIX + "CONNECTED";
    /** A phase started; {@link #PHASE} names it. */
    public static final String PHASE_STARTED = TOPIC_PREFIX + "PHASE";
    /** Progress within a phase ({@link #MESSAGE}, {@link #DONE}, {@link #TOTAL}). */
    public static final String PROGRESS = TOPIC_PREFIX + "PROGRESS";
    /** The sender finished; carries the send counts. */
    public static final String SENT = TOPIC_PREFIX + "SENT";
    /** The collectors finished; carries the collect counts. */
    public static final String COLLECTED = TOPIC_PREFIX + "COLLECTED";
    /** The link is down and the firing ended; carries {@link #OUTCOME} and all counts. */
    public static final String DISCONNECTED = TOPIC_PREFIX + "DISCONNECTED";
    /** The firing ended PARTIAL or FAILED; carries {@link #OUTCOME}, {@link #PHASE} and {@link #ERROR}. */
    public static final String FAILED = TOPIC_PREFIX + "FAILED";
    /** A connection's state changed (configured, removed, WAITING, ERROR, ...); carries {@link #STATE}. */
    public static final String STATE = TOPIC_PREFIX + "STATE";
    /**
     * An error notice for a {@link #FAILED} firing was mailed, queued, held back (the same error again) or could
     * not be sent; {@link #MESSAGE} says which, {@link #NOTICE_SENT} whether it went out. Posted by the mail bundle.
     * @since 1.1
     */
    public static final String NOTICE = TOPIC_PREFIX + "NOTICE";

    public static final String CONNECTION_ID = "connection.id";
    public static final String CONNECTION_NAME = "connection.name";
    public static final String FIRING_ID = "firing.id";
    public static final String CAUSE = "cause";
    public static final String PHASE = "phase";
    public static final String MESSAGE = "message";
    public static final String DONE = "done";
    public static final String TOTAL = "total";
    public static final String OUTCOME = "outcome";
    public static final String ERROR = "error";
    public static final String STATE_NAME = "state";
    public static final String SENT_COUNT = "sent";
    public static final String DEFERRED_COUNT = "deferred";
    public static final String FAILED_COUNT = "failed";
    public static final String COLLECTED_COUNT = "collected";
    public static final String SKIPPED_COUNT = "skipped";
    public static final String DURATION_MS = "duration.ms";
    /** Boolean on {@link #NOTICE}: the notice was queued or delivered. @since 1.1 */
    public static final String NOTICE_SENT = "queued";

    private Events() {
    }
}
