package io.uplink.mail.internal.outbox;

import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.TaskContext;
import io.uplink.mail.internal.outbox.FileOutbox.Envelope;
import io.uplink.mail.internal.outbox.FileOutbox.Outcome;
import io.uplink.mail.internal.outbox.FileOutbox.Prepared;
import io.uplink.mail.internal.outbox.FileOutbox.Result;
import io.uplink.mail.internal.outbox.FileOutbox.Verdict;
import io.uplink.mail.internal.outbox.HeaderBlock.MalformedMessageException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Where the outgoing queue keeps its messages: files on one node ({@link FileOutbox}), or PostgreSQL in a cluster
 * ({@link JdbcOutbox}). What the intake (submission, pickup), the senders and the commands need of it, so that none
 * of them knows which one it runs on (Quartz's {@code JobStore} shape).
 */
public interface OutboxStore extends Outbox {

    // ------------------------------------------------------------------ intake

    @Override
    default QueuedMessage queue(String from, List<String> recipients, InputStream message) throws IOException {
        try {
            return queueOrReject(from, recipients, message);
        } catch (MalformedMessageException e) {
            throw new IOException("not an RFC 5322 message: " + e.getMessage(), e);
        }
    }

    /** Queues a message; a message that is not mail or names no sender or recipient is refused with the reason. */
    QueuedMessage queueOrReject(String from, List<String> recipients, InputStream message)
            throws IOException, MalformedMessageException;

    /** Checks a message held in memory and makes it ready for {@link #commit}; nothing is stored yet. */
    Prepared prepare(String from, List<String> recipients, byte[] message) throws IOException, MalformedMessageException;

    /** Stores prepared messages together; they are durable and listed when it returns. */
    void commit(List<Prepared> group) throws IOException;

    // ------------------------------------------------------------------ failed mail

    /** The failed messages, newest failure first. */
    List<FailedMessage> failedMessages() throws IOException;

    /** One failed message. */
    Optional<FailedMessage> failedMessage(String id);

    /** Puts a failed message back into the queue for its failed recipients; the new queue id. */
    Optional<String> requeue(String failedId) throws IOException;

    /** Requeues every failed message; how many. */
    int requeueAll() throws IOException;

    /** Removes a failed message for good. */
    boolean deleteFailed(String id) throws IOException;

    /** Removes failed messages given up before {@code before}; how many. */
    int purgeFailed(Instant before) throws IOException;

    /** Removes failed messages and rejected pickup files older than {@code retention}; how many. */
    int expire(Duration retention, Path pickupRejected) throws IOException;

    // ------------------------------------------------------------------ sending

    /** Every message due now and not being sent elsewhere: urgent first, then oldest first. */
    List<QueuedMessage> due();

    /**
     * The queue as one firing sends from it. In a cluster, its claims and records are committed through the firing's
     * fence, so the firing must hold one.
     *
     * @throws IOException when the store cannot serve this firing (in a cluster: it holds no fence)
     */
    Sending sending(TaskContext firing) throws IOException;

    /** Stops background work; what was taken is stored first. */
    void close();

    /** One firing's view of the queue for sending. */
    interface Sending {

        /** Messages due now and not claimed by a live sender. */
        List<QueuedMessage> due();

        /**
         * Claims a message's pending recipients for this firing; empty when it is gone or another sender has it.
         *
         * @throws IOException when the claim cannot be stored (in a cluster: the fence is lost); send nothing more
         */
        Optional<Envelope> claim(String id) throws IOException;

        /** Gives a claimed message back untried; a failure is logged, the claim lapses with its firing. */
        void release(String id);

        /**
         * Records one try of a claimed message (see {@link FileOutbox#record(String, Map, String, boolean, Executor)}).
         */
        Result record(String id, Map<String, Outcome> outcomes, String remoteHost, boolean backoff, Executor removal)
                throws IOException;

        /** Records the same outcome for every pending recipient of a claimed message. */
        Result recordAll(String id, Verdict verdict, String reply, String remoteHost, boolean backoff) throws IOException;

        /** The firing is done: claims it took ahead and did not use go back. */
        default void close() {
        }
    }
}
