package io.uplink.api.mail;

import java.util.List;

/**
 * What one collector did in one firing.
 *
 * @param collectorId the collector
 * @param collected messages stored safely in local mailboxes
 * @param skipped messages left on the server (too large); each one is named in {@code errors}
 * @param errors what went wrong; never a password
 */
public record CollectReport(String collectorId, int collected, int skipped, List<String> errors) {

    public CollectReport {
        errors = List.copyOf(errors);
    }

    /** Whether the task failed. */
    public boolean taskFailed() {
        return !errors.isEmpty();
    }
}
