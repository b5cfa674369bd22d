package io.uplink.mail.internal.net;

import java.net.SocketTimeoutException;

/** A session's deadline ran out; the message says which one. A timeout, so callers that retry on timeouts do. */
public final class DeadlineExceededException extends SocketTimeoutException {
    private static final long serialVersionUID = 1L;

    DeadlineExceededException(String message) {
        super(message);
    }
}
