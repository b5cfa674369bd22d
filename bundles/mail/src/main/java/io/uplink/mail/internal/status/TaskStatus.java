package io.uplink.mail.internal.status;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.mail.MailTaskState;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.oauth2.AuthorizationStatus;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Tokens;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.slf4j.Logger;

/**
 * What one Mail Sender or Mail Collector is: its settings as they arrived, the configuration error that keeps it
 * from working (found when the configuration arrives, not when it fires), unknown keys, and how its last run went.
 * The mail bundle owns this state; {@link MailTaskServiceComponent} shows it.
 */
public final class TaskStatus {

    private final Clock clock;
    private volatile Settings settings;
    private volatile String error = "";
    private volatile List<String> warnings = List.of();
    private volatile String server = "";
    private volatile boolean disabled;
    private volatile int running;
    private volatile Instant lastRun;
    private volatile String lastResult = "";
    private volatile String lastError = "";

    public TaskStatus(Clock clock) {
        this.clock = clock;
    }

    /**
     * A configuration arrived: remembers it, reports unknown keys as warnings and the error (if any), each as
     * one log line naming the item, the file and the key.
     */
    public void configured(Settings s, Set<String> knownKeys, ConfigException problem, String server, boolean disabled,
            Logger log) {
        List<String> unknown = s.unknownKeys(knownKeys);
        for (String w : unknown) {
            log.warn("{}: {}", s.item(), w);
        }
        this.settings = s;
        this.warnings = unknown;
        this.error = problem == null ? "" : problem.getMessage();
        this.server = problem == null && server != null ? server : "";
        this.disabled = disabled;
        if (problem != null) {
            log.error("{}", problem.getMessage());
        }
    }

    /** The configuration error, if any. */
    public Optional<String> problem() {
        String e = error;
        return e.isEmpty() ? Optional.empty() : Optional.of(e);
    }

    /** A run starts. */
    public synchronized void started() {
        running++;
    }

    /** A run ended with this summary and first error (empty when none). */
    public synchronized void finished(String result, List<String> errors) {
        running = Math.max(0, running - 1);
        lastRun = clock.instant();
        lastResult = result;
        lastError = errors.isEmpty() ? "" : errors.get(0);
    }

    /** The snapshot the API gives out. */
    public MailTaskStatus snapshot(String kind, List<String> connections) {
        return snapshot(kind, connections, null, null);
    }

    /**
     * The snapshot of an item that may sign in with OAuth2 ({@code oauth2} is {@code null} for a password): while
     * its account is not authorized (never yet, or consent revoked or expired) it is in ERROR with the advice
     * {@code run oauth:authorize <id>}, and READY again as soon as a person authorized it, without a firing.
     */
    public MailTaskStatus snapshot(String kind, List<String> connections, OAuth2Account oauth2, OAuth2Tokens tokens) {
        Settings s = settings;
        String error = this.error;
        if (error.isEmpty() && oauth2 != null && tokens != null) {
            AuthorizationStatus a = tokens.status(oauth2);
            if (!a.authorized()) {
                // the account's last error may name another item of the same account: this one names itself
                String why = a.lastError() != null && a.lastError().contains("expired or revoked")
                        ? "authorization expired or revoked" : "not authorized";
                error = oauth2.item() + " (" + oauth2.file() + "): " + why + ": run oauth:authorize " + oauth2.id();
            }
        }
        MailTaskState state;
        if (!error.isEmpty()) {
            state = MailTaskState.ERROR;
        } else if (running > 0) {
            state = MailTaskState.RUNNING;
        } else if (disabled) {
            state = MailTaskState.DISABLED;
        } else {
            state = MailTaskState.READY;
        }
        return new MailTaskStatus(kind, s.id(), state, s.file(), error, warnings, server, connections, lastRun,
                lastResult, lastError, s.masked());
    }
}
