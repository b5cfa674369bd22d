package io.uplink.api.mail;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of one Mail Sender or Mail Collector, as the mail bundle knows it.
 *
 * @param kind {@code sender} or {@code collector}
 * @param id the id (the name part of its cfg file)
 * @param state where it stands now
 * @param file the configuration file it came from
 * @param error why it is in {@link MailTaskState#ERROR}, naming the item, the file and the key; empty otherwise
 * @param warnings what is odd but harmless, such as an unknown key with the nearest known one
 * @param server the server it talks to ({@code pop3://pop.example.net:995 (tls)}), never a password; empty when
 *        the configuration cannot be used
 * @param connections a collector's linked connections (its {@code connections} key); empty for a sender, which
 *        connections name in their {@code sender} key instead
 * @param lastRun when it last ran, or {@code null} when it has not run since it was configured
 * @param lastResult what the last run did ({@code 3 collected, 1 skipped}, {@code 5 sent, 1 deferred}); empty
 *        when it has not run
 * @param lastError the first error of the last run, or empty when it went well
 * @param settings every configured key, secrets masked
 * @since 1.2
 */
public record MailTaskStatus(
        String kind,
        String id,
        MailTaskState state,
        String file,
        String error,
        List<String> warnings,
        String server,
        List<String> connections,
        Instant lastRun,
        String lastResult,
        String lastError,
        Map<String, String> settings) {

    /** {@link #kind()} of a Mail Sender. */
    public static final String SENDER = "sender";
    /** {@link #kind()} of a Mail Collector. */
    public static final String COLLECTOR = "collector";

    public MailTaskStatus {
        warnings = List.copyOf(warnings);
        connections = List.copyOf(connections);
        settings = Map.copyOf(settings);
        error = error == null ? "" : error;
        server = server == null ? "" : server;
        lastResult = lastResult == null ? "" : lastResult;
        lastError = lastError == null ? "" : lastError;
    }
}
