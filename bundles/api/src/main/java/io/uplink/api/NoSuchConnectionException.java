package io.uplink.api;

/** A connection id that is not configured. */
public class NoSuchConnectionException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String connectionId;

    public NoSuchConnectionException(String connectionId) {
        super("connection '" + connectionId + "' is not configured");
        this.connectionId = connectionId;
    }

    public String connectionId() {
        return connectionId;
    }
}
