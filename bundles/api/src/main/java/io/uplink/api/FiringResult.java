package io.uplink.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The record of one firing of one connection.
 *
 * @param firingId unique id of the firing
 * @param connectionId the connection's id
 * @param connectionName the connection's name
 * @param cause who fired it: {@code shell}, {@code schedule:<id>}, {@code defaults}, {@code fallback:<id>}, ...
 * @param started when the firing started (after waiting for its turn)
 * @param ended when it ended
 * @param outcome OK, PARTIAL or FAILED
 * @param summary one line for people, such as {@code sent 3, collected 12}
 * @param counts what the mail tasks did
 * @param phases the phases that ran, in order
 * @param errors the errors of failed tasks, each naming the task
 * @param fallback the firing of the fallback connection this firing handed over to, or {@code null}
 * @param node the id of the cluster node that ran the firing, or {@code null} on a single node (since 1.2)
 */
public record FiringResult(
        String firingId,
        String connectionId,
        String connectionName,
        String cause,
        Instant started,
        Instant ended,
        Outcome outcome,
        String summary,
        MailCounts counts,
        List<PhaseResult> phases,
        List<String> errors,
        FiringResult fallback,
        String node) {

    public FiringResult {
        phases = List.copyOf(phases);
        errors = List.copyOf(errors);
    }

    /** A firing on a single node (no {@code node}). */
    public FiringResult(String firingId, String connectionId, String connectionName, String cause, Instant started,
            Instant ended, Outcome outcome, String summary, MailCounts counts, List<PhaseResult> phases,
            List<String> errors, FiringResult fallback) {
        this(firingId, connectionId, connectionName, cause, started, ended, outcome, summary, counts, phases, errors,
                fallback, null);
    }

    /** This result as run on {@code node}. */
    public FiringResult withNode(String node) {
        return new FiringResult(firingId, connectionId, connectionName, cause, started, ended, outcome, summary, counts,
                phases, errors, fallback, node);
    }

    /** How long the firing took. */
    public Duration duration() {
        return Duration.between(started, ended);
    }
}
