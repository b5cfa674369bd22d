package io.uplink.api.method;

/** A link that could not be brought up; the message says why, in the user's words. */
public class ConnectException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConnectException(String message) {
        super(message);
    }

    public ConnectException(String message, Throwable cause) {
        super(message, cause);
    }
}
