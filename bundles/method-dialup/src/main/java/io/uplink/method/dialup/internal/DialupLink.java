package io.uplink.method.dialup.internal;

import io.uplink.api.method.Link;

/** One firing's use of a modem line; closing it hands the line back to the method (hang up, or keep it idle). */
final class DialupLink implements Link {

    private final DialupMethod method;
    private final ModemConnection connection;
    private final String description;
    private boolean closed;

    DialupLink(DialupMethod method, ModemConnection connection, String description) {
        this.method = method;
        this.connection = connection;
        this.description = description;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public boolean isUp() {
        return connection.isUp();
    }

    @Override
    public String lostReason() {
        return connection.lostReason();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        method.release(connection);
    }
}
