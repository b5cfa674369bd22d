package io.uplink.mail.internal.notice;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Decides whether an error notice goes out: the first of an error at once, the same error again on the same
 * connection at most once per {@code repeat}, a different error at once; a success forgets the error.
 */
final class NoticeThrottle {

    /** What to do with one error. */
    record Decision(boolean send, int suppressedBefore) {
    }

    private record Last(String error, Instant sent, int suppressed) {
    }

    private final Map<String, Last> last = new HashMap<>();
    private volatile Duration repeat;

    NoticeThrottle(Duration repeat) {
        this.repeat = repeat;
    }

    void repeat(Duration repeat) {
        this.repeat = repeat;
    }

    synchronized Decision failed(String connection, String error, Instant now) {
        Last l = last.get(connection);
        if (l == null || !l.error().equals(error) || !now.isBefore(l.sent().plus(repeat))) {
            last.put(connection, new Last(error, now, 0));
            int suppressed = l != null && l.error().equals(error) ? l.suppressed() : 0;
            return new Decision(true, suppressed);
        }
        last.put(connection, new Last(l.error(), l.sent(), l.suppressed() + 1));
        return new Decision(false, l.suppressed() + 1);
    }

    synchronized void succeeded(String connection) {
        last.remove(connection);
    }
}
