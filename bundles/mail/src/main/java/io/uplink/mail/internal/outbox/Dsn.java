package io.uplink.mail.internal.outbox;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A delivery status notification (RFC 3464: {@code multipart/report; report-type=delivery-status}) for
 * recipients that failed permanently, with the original message's header attached.
 */
final class Dsn {

    private static final Pattern ENHANCED = Pattern.compile("^\\s*\\d{3}[ -]([245]\\.\\d{1,3}\\.\\d{1,3})\\b");
    private static final DateTimeFormatter RFC5322 = DateTimeFormatter
            .ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ROOT);

    private Dsn() {
    }

    /**
     * Builds the report.
     *
     * @param reportingHost this machine's name
     * @param queueId the message's queue id
     * @param from the envelope sender of the failed message
     * @param arrival when it was queued
     * @param failed recipient → the reason (a server reply such as {@code 550 5.1.1 no such user}, or a text)
     * @param remoteHost the server that gave the replies, or {@code null}
     * @param originalHeader the failed message's header bytes
     */
    static byte[] build(String reportingHost, String queueId, String from, Instant arrival,
            Map<String, String> failed, String remoteHost, byte[] originalHeader, Instant now) {
        String boundary = "=_uplink_dsn_" + UUID.randomUUID();
        String date = RFC5322.format(now.atZone(ZoneId.systemDefault()));
        StringBuilder b = new StringBuilder();
        b.append("From: Mail Delivery System <MAILER-DAEMON@").append(reportingHost).append(">\r\n");
        b.append("To: ").append(from == null || from.isEmpty() ? "postmaster" : "<" + from + ">").append("\r\n");
        b.append("Subject: Undelivered Mail Returned to Sender\r\n");
        b.append("Date: ").append(date).append("\r\n");
        b.append("Message-ID: <").append(UUID.randomUUID()).append('@').append(reportingHost).append(">\r\n");
        b.append("Auto-Submitted: auto-replied\r\n");
        b.append("MIME-Version: 1.0\r\n");
        b.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
                .append(boundary).append("\"\r\n\r\n");
        b.append("This is a MIME-encapsulated message.\r\n\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Type: text/plain; charset=utf-8\r\n");
        b.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
        b.append("Uplink could not deliver queued message ").append(queueId)
                .append(" to the following recipients; it gave up:\r\n\r\n");
        for (Map.Entry<String, String> e : failed.entrySet()) {
            b.append("  <").append(e.getKey()).append(">: ").append(oneLine(e.getValue())).append("\r\n");
        }
        b.append("\r\nThe message's header is attached.\r\n\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Type: message/delivery-status\r\n\r\n");
        b.append("Reporting-MTA: dns; ").append(reportingHost).append("\r\n");
        b.append("X-Uplink-Queue-ID: ").append(queueId).append("\r\n");
        if (arrival != null) {
            b.append("Arrival-Date: ").append(RFC5322.format(arrival.atZone(ZoneId.systemDefault()))).append("\r\n");
        }
        for (Map.Entry<String, String> e : failed.entrySet()) {
            String reason = oneLine(e.getValue());
            b.append("\r\n");
            b.append("Final-Recipient: rfc822; ").append(e.getKey()).append("\r\n");
            b.append("Action: failed\r\n");
            b.append("Status: ").append(status(reason)).append("\r\n");
            if (remoteHost != null && isSmtpReply(reason)) {
                b.append("Remote-MTA: dns; ").append(remoteHost).append("\r\n");
                b.append("Diagnostic-Code: smtp; ").append(reason).append("\r\n");
            } else {
                b.append("Diagnostic-Code: X-Uplink; ").append(reason).append("\r\n");
            }
            b.append("Last-Attempt-Date: ").append(date).append("\r\n");
        }
        b.append("\r\n");

        b.append("--").append(boundary).append("\r\n");
        b.append("Content-Type: text/rfc822-headers\r\n\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(b.toString().getBytes(StandardCharsets.UTF_8));
        out.writeBytes(originalHeader);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** The RFC 3463 status code from an SMTP reply, or a generic one. */
    static String status(String reason) {
        Matcher m = ENHANCED.matcher(reason);
        if (m.find()) {
            String s = m.group(1);
            return s.startsWith("2") ? "5.0.0" : s.startsWith("4") ? "4" + s.substring(1) : s;
        }
        if (isSmtpReply(reason)) {
            return reason.trim().charAt(0) == '4' ? "4.0.0" : "5.0.0";
        }
        return reason.toLowerCase(Locale.ROOT).contains("gave up") ? "4.4.7" : "5.0.0";
    }

    private static boolean isSmtpReply(String s) {
        return s.trim().matches("^[245]\\d\\d.*");
    }

    private static String oneLine(String s) {
        return s == null ? "unknown reason" : s.replaceAll("[\\r\\n]+", " ").trim();
    }
}
