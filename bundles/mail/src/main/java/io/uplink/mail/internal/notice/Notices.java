package io.uplink.mail.internal.notice;

import io.uplink.api.Events;
import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.Outbox;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Error notices, VPOP3 style: a firing that ends PARTIAL or FAILED queues a plain-text mail to {@code notify.to}
 * through the outbox, naming the connection, the phase and the error; with {@code notify.to} unset it goes
 * straight into the local postmaster mailbox. Identical errors are throttled by {@link NoticeThrottle}.
 */
final class Notices {

    private static final Logger LOG = LoggerFactory.getLogger(Notices.class);

    /** What was decided for one failed firing, for the activity log. */
    record Sent(boolean queued, String text) {
    }

    private final Clock clock;
    private final Supplier<Outbox> outbox;
    private final Supplier<LocalMailboxes> local;
    private final NoticeThrottle throttle;
    private volatile List<String> to = List.of();
    private volatile String from = "uplink@localhost";
    private volatile Duration repeat = Duration.ofHours(1);

    Notices(Clock clock, Supplier<Outbox> outbox, Supplier<LocalMailboxes> local) {
        this.clock = clock;
        this.outbox = outbox;
        this.local = local;
        this.throttle = new NoticeThrottle(repeat);
    }

    void configure(List<String> to, String from, Duration repeat) {
        this.to = List.copyOf(to);
        this.from = from;
        this.repeat = repeat;
        throttle.repeat(repeat);
    }

    List<String> to() {
        return to;
    }

    void succeeded(String connection) {
        throttle.succeeded(connection);
    }

    /** Handles a FAILED event; returns what happened, or null when nothing is configured. */
    Sent failed(Map<String, Object> event) {
        String id = str(event.get(Events.CONNECTION_ID));
        String phase = str(event.get(Events.PHASE));
        String error = str(event.get(Events.ERROR));
        if (error.isEmpty()) {
            error = str(event.get(Events.MESSAGE));
        }
        List<String> recipients = to;
        LocalMailboxes mailboxes = local.get();
        if (recipients.isEmpty() && mailboxes == null) {
            return null;
        }
        String where = recipients.isEmpty() ? "the local mailbox '" + mailboxes.postmaster() + "'"
                : String.join(", ", recipients);
        Instant now = clock.instant();
        NoticeThrottle.Decision d = throttle.failed(id, phase + "|" + error, now);
        if (!d.send()) {
            return new Sent(false, "notice to " + where + " held back (same error, "
                    + d.suppressedBefore() + " since the last notice; repeats every " + human(repeat) + ")");
        }
        if (recipients.isEmpty()) {
            byte[] mail = compose(event, phase, error, now, d.suppressedBefore(),
                    mailboxes.postmaster() + "@localhost");
            try {
                mailboxes.deliver(mailboxes.postmaster(), new ByteArrayInputStream(mail));
                return new Sent(true, "notice delivered to " + where);
            } catch (IOException | RuntimeException e) {
                LOG.warn("connection '{}': error notice to {} not delivered: {}", id, where, e.toString());
                return new Sent(false, "notice not delivered: " + e.getMessage());
            }
        }
        Outbox o = outbox.get();
        if (o == null) {
            LOG.warn("connection '{}': error notice not queued, no outbox is installed", id);
            return new Sent(false, "notice not queued: no outbox is installed");
        }
        byte[] mail = compose(event, phase, error, now, d.suppressedBefore(), String.join(", ", recipients));
        try {
            o.queue(from, recipients, new ByteArrayInputStream(mail));
            return new Sent(true, "notice queued to " + String.join(", ", recipients));
        } catch (IOException | RuntimeException e) {
            LOG.warn("connection '{}': error notice to {} not queued: {}", id, recipients, e.toString());
            return new Sent(false, "notice not queued: " + e.getMessage());
        }
    }

    byte[] compose(Map<String, Object> event, String phase, String error, Instant now, int suppressed, String toHeader) {
        String id = str(event.get(Events.CONNECTION_ID));
        String name = str(event.get(Events.CONNECTION_NAME));
        String outcome = str(event.get(Events.OUTCOME));
        String who = name.isEmpty() || name.equals(id) ? "'" + id + "'" : name + " ('" + id + "')";
        String subject = "Uplink: connection " + who + " " + outcome + (phase.isEmpty() ? "" : " in " + phase);
        StringBuilder b = new StringBuilder();
        b.append("Date: ").append(DateTimeFormatter.RFC_1123_DATE_TIME.format(now.atZone(ZoneId.systemDefault())))
                .append("\r\n");
        b.append("From: Uplink <").append(from).append(">\r\n");
        b.append("To: ").append(toHeader).append("\r\n");
        b.append("Subject: ").append(header(subject)).append("\r\n");
        b.append("Message-ID: <").append(UUID.randomUUID()).append("@uplink>\r\n");
        b.append("Auto-Submitted: auto-generated\r\n");
        b.append("MIME-Version: 1.0\r\n");
        b.append("Content-Type: text/plain; charset=UTF-8\r\n");
        b.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
        b.append("The connection ").append(who).append(" ended ").append(outcome).append(".\r\n\r\n");
        b.append("Connection: ").append(who).append("\r\n");
        b.append("Outcome:    ").append(outcome).append("\r\n");
        b.append("Phase:      ").append(phase.isEmpty() ? "-" : phase).append("\r\n");
        b.append("Error:      ").append(error.replace("\n", "\r\n            ")).append("\r\n");
        b.append("Firing:     ").append(str(event.get(Events.FIRING_ID)))
                .append(" (fired by ").append(str(event.get(Events.CAUSE))).append(")\r\n");
        b.append("Summary:    ").append(str(event.get(Events.MESSAGE))).append("\r\n");
        b.append("Time:       ").append(now).append("\r\n\r\n");
        if (suppressed > 0) {
            b.append(suppressed).append(" identical notice(s) were held back since the last one.\r\n");
        }
        b.append("The same error on this connection is reported again at most once per ").append(human(repeat))
                .append(", and at once after a successful firing.\r\n");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** RFC 2047 encoding for a header with non-ASCII text (connection names are free text). */
    static String header(String s) {
        if (s.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            return s;
        }
        return "=?UTF-8?B?" + Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)) + "?=";
    }

    static String human(Duration d) {
        if (d.toSeconds() % 3600 == 0 && d.toSeconds() > 0) {
            return d.toHours() + "h";
        }
        if (d.toSeconds() % 60 == 0 && d.toSeconds() > 0) {
            return d.toMinutes() + "m";
        }
        return d.toSeconds() + "s";
    }

    private static String str(Object o) {
        return o == null ? "" : o.toString();
    }
}
