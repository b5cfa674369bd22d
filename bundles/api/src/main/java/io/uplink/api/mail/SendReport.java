package io.uplink.api.mail;

import java.util.List;

/**
 * What a sender did in one firing.
 *
 * @param sent messages accepted by the server and removed from the queue
 * @param deferred messages kept for a later try
 * @param failed messages that failed permanently (moved to failed/, bounced)
 * @param errors what went wrong, each naming the host or message; never a password
 */
public record SendReport(int sent, int deferred, int failed, List<String> errors) {

    public SendReport {
        errors = List.copyOf(errors);
    }

    /** Whether the task as a whole failed (nothing could be sent because of an error). */
    public boolean taskFailed() {
        return !errors.isEmpty() && sent == 0;
    }
}
