package io.uplink.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of one connection.
 *
 * @param id the id (the name part of its cfg file)
 * @param name the free-text name
 * @param method the method name ({@code network}, {@code dialup}, ...)
 * @param isDefault whether it is one of the default connections
 * @param order its place among the defaults
 * @param state where it stands now
 * @param reason why it is WAITING, ERROR or REJECTED, or what it is doing; may be empty
 * @param file the configuration file it came from
 * @param sender the id of its Mail Sender, or empty
 * @param collectors the ids of the enabled Mail Collectors linked to it, in the order they run
 * @param fallback the id of its fallback connection, or empty
 * @param progress what the running firing is doing, or {@code null}
 * @param lastResult the last firing's result, or {@code null} when it never fired
 * @param problems links that do not resolve now, such as {@code sender 'smarthost' is not configured}
 * @param settings every configured key with secrets masked
 * @param node in a cluster, the id of the node that runs its firing now, or else ran its last one ({@code null} when
 *        none did); always {@code null} on a single node (since 1.2)
 */
public record ConnectionStatus(
        String id,
        String name,
        String method,
        boolean isDefault,
        int order,
        ConnectionState state,
        String reason,
        String file,
        String sender,
        List<String> collectors,
        String fallback,
        Progress progress,
        FiringResult lastResult,
        List<String> problems,
        Map<String, String> settings,
        String node) {

    public ConnectionStatus {
        collectors = List.copyOf(collectors);
        problems = List.copyOf(problems);
        settings = Map.copyOf(settings);
    }

    /** A connection on a single node (no {@code node}). */
    public ConnectionStatus(String id, String name, String method, boolean isDefault, int order, ConnectionState state,
            String reason, String file, String sender, List<String> collectors, String fallback, Progress progress,
            FiringResult lastResult, List<String> problems, Map<String, String> settings) {
        this(id, name, method, isDefault, order, state, reason, file, sender, collectors, fallback, progress, lastResult,
                problems, settings, null);
    }

    /** When it last fired, or {@code null}. */
    public Instant lastFired() {
        return lastResult == null ? null : lastResult.started();
    }
}
