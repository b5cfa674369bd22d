package io.uplink.mail.internal.collect;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.function.Consumer;

import io.uplink.mail.internal.ledger.Ledger;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Maildir;

/**
 * Where a collector puts what it collected: the local Maildirs ({@code delivery = maildir}) or the office's
 * mail server ({@code lmtp://…}, {@code smtp://…}). The collection lists, fetches, keeps the UID ledger and
 * deletes; a destination stores and says when a message is durably somewhere else. It records its intent
 * in the ledger before it starts a delivery and the delivery in the ledger once it is durable, so
 * {@link Ledger#inMailboxes} can settle a delivery a crash interrupted.
 */
interface Destination extends Closeable {

    /** The destination a collector's settings name. */
    static Destination of(CollectorSettings cfg, Path mailboxes, Clock clock, Consumer<String> problems) {
        if (!cfg.deliversToServer()) {
            return new MaildirDestination(cfg.id(), mailboxes, clock);
        }
        return new ServerDestination(cfg, mailboxes, clock, problems);
    }

    /**
     * Delivers one message to its recipients. The message is durable only once {@link #commit} returned;
     * a message the destination cannot take is among {@link #commit}'s answer.
     *
     * @throws Deferred the destination is known to be down: the message was not even started
     */
    void deliver(Ledger ledger, String uid, long size, List<Router.Recipient> recipients, Router.Headers headers,
            Maildir.Writer bytes) throws Deferred, IOException;

    /** Whether enough messages wait for a {@link #commit}. */
    boolean full();

    /**
     * Makes every delivered message durable and records it in the ledger. A message that could not be made
     * durable is not recorded; the first such failure is thrown after the others are recorded.
     *
     * @return the messages since the last commit that must stay on the server this time (an office server's
     *         4xx, or it went down), each not recorded
     */
    List<Deferred> commit(Ledger ledger) throws IOException;

    /**
     * Like {@link #commit}, but a destination may make the latest batch durable in the background while the
     * collector fetches the next one, and record it at a later call; only {@link #commit} promises that
     * everything delivered so far is durable and recorded. By default the same as {@link #commit}.
     */
    default List<Deferred> commitEarlier(Ledger ledger) throws IOException {
        return commit(ledger);
    }

    /** How many delivered messages failed to become durable in {@link #commit}. */
    int failed();

    /** A message that could not be handed over this time; it stays on the server for the next firing. */
    final class Deferred extends Exception {
        private static final long serialVersionUID = 1L;
        private final String uid;
        private final boolean stopRun;

        Deferred(String uid, String message, boolean stopRun, Throwable cause) {
            super(message, cause);
            this.uid = uid;
            this.stopRun = stopRun;
        }

        /** The message's UID on the server. */
        String uid() {
            return uid;
        }

        /** Whether the destination cannot take any more now (down), so the collector stops fetching. */
        boolean stopRun() {
            return stopRun;
        }
    }
}
