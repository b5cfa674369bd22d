package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import io.uplink.mail.internal.deliver.OfficeServer;
import io.uplink.mail.internal.deliver.OfficeSession;
import io.uplink.mail.internal.ledger.UidLedger;
import io.uplink.mail.internal.route.Router;
import io.uplink.mail.internal.store.Maildir;

/**
 * Delivery to the office's mail server over LMTP or SMTP, one message at a time, with the routed addresses
 * as envelope recipients.
 *
 * <p>The message is first written to {@code tmp/} of the {@code unroutable} Maildir (the spool) and sent from
 * there. It counts as delivered, and is recorded in the ledger and forced, once every recipient has a final
 * answer: a 250 from the server, or, for a 5xx or for mail no address matched, the spool file completed into
 * the unroutable Maildir. Any 4xx (or the server down) leaves the message on the remote server for the
 * next firing. The ledger's intent names the spool's file, so after a crash a pending message counts as
 * delivered only when its unroutable copy was completed (which happens after every reply was read);
 * otherwise it is delivered again: a SIGKILL can give the office server the in-flight message twice,
 * never lose it.
 */
final class ServerDestination implements Destination {

    private final OfficeServer server;
    private final Duration timeout;
    private final Path mailboxes;
    private final String unroutable;
    private final Clock clock;
    private final Consumer<String> problems;
    private Maildir spool;
    private OfficeSession session;

    ServerDestination(OfficeServer server, Duration timeout, Path mailboxes, String unroutable, Clock clock,
            Consumer<String> problems) {
        this.server = server;
        this.timeout = timeout;
        this.mailboxes = mailboxes;
        this.unroutable = unroutable;
        this.clock = clock;
        this.problems = problems;
    }

    @Override
    public void deliver(UidLedger ledger, String uid, long size, List<Router.Recipient> recipients, Router.Headers headers,
            Maildir.Writer bytes) throws Deferred, IOException {
        if (spool == null) {
            spool = Maildir.open(mailboxes.resolve(unroutable));
        }
        List<String> addresses = new ArrayList<>(recipients.size());
        for (Router.Recipient r : recipients) {
            if (r.address() != null) {
                addresses.add(r.address());
            }
        }
        String from = envelopeFrom(headers);
        String unique = Maildir.uniqueName();
        ledger.intend(uid, size, unique, List.of(unroutable));
        Maildir.Delivery copy = spool.write(unique, bytes);
        boolean keep = addresses.size() < recipients.size();
        try {
            if (!addresses.isEmpty()) {
                List<String> refused = new ArrayList<>();
                List<String> deferred = new ArrayList<>();
                for (OfficeSession.Reply r : send(uid, from, addresses, copy.temp())) {
                    if (r.permanent()) {
                        refused.add(r.recipient() + " (" + r.text() + ")");
                    } else if (!r.delivered()) {
                        deferred.add(r.recipient() + " (" + r.text() + ")");
                    }
                }
                if (!deferred.isEmpty()) {
                    throw new Deferred("message " + uid + ": " + server + " answered " + String.join(", ", deferred)
                            + "; the message stays on the server and is delivered at the next firing", false, null);
                }
                if (!refused.isEmpty()) {
                    keep = true;
                    problems.accept("message " + uid + ": " + server + " refused " + String.join(", ", refused)
                            + "; that copy is in the local mailbox '" + unroutable + "'");
                }
            }
        } catch (Deferred | RuntimeException e) {
            copy.abandon();
            throw e;
        }
        if (keep) {
            copy.complete();
            spool.sync();
        } else {
            copy.abandon();
        }
        ledger.stored(uid, size, clock.instant());
        // forced per message: a kill then repeats at most the message in flight
        ledger.sync();
    }

    private List<OfficeSession.Reply> send(String uid, String from, List<String> addresses, Path file) throws Deferred {
        try {
            if (session == null) {
                session = OfficeSession.open(server, timeout);
            }
            return session.deliver(from, addresses, file);
        } catch (IOException e) {
            if (session != null) {
                session.close();
                session = null;
            }
            throw new Deferred("cannot deliver message " + uid + " to " + server + ": " + reason(e)
                    + "; it and the rest stay on the server for the next firing (key 'delivery')", true, e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (e instanceof java.net.SocketTimeoutException) {
            return "no answer in time (key 'timeout')";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * The envelope sender, as fetchmail picks it: the collected message's Return-Path, else Sender, else From;
     * the null sender only when none holds an address.
     */
    static String envelopeFrom(Router.Headers headers) {
        for (String h : new String[] {"Return-Path", "Sender", "From"}) {
            try {
                String[] v = headers.get(h);
                if (v != null && v.length > 0) {
                    List<String> a = Router.addresses(v[0]);
                    if (!a.isEmpty() && a.get(0).matches("[^\\s<>]+@[^\\s<>]+")) {
                        return a.get(0);
                    }
                }
            } catch (Exception e) {
                // an unreadable header: try the next
            }
        }
        return "";
    }

    @Override
    public boolean full() {
        return false;
    }

    @Override
    public void commit(UidLedger ledger) {
        // every delivery is recorded and forced as it completes
    }

    @Override
    public int failed() {
        return 0;
    }

    @Override
    public void close() {
        if (session != null) {
            session.close();
            session = null;
        }
    }
}
