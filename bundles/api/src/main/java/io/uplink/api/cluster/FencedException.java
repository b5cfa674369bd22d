package io.uplink.api.cluster;

import java.io.IOException;

/**
 * A fenced commit failed: the firing lost its lock (or its database session), so another node may own the
 * connection now. An {@link IOException}, so that mail code treats it as a store that cannot be written: it stops
 * at once and deletes nothing.
 */
public class FencedException extends IOException {

    private static final long serialVersionUID = 1L;

    public FencedException(String message, Throwable cause) {
        super(message, cause);
    }

    public FencedException(String message) {
        super(message);
    }
}
