package io.uplink.mail.internal.collect;

import java.io.IOException;

/** A server sent a line longer than any honest server does; the connection is dropped. */
public final class LineTooLongException extends IOException {
    private static final long serialVersionUID = 1L;

    LineTooLongException(long limit) {
        super("the server sent a line longer than " + limit + " bytes (a broken or hostile server); "
                + "the connection was dropped");
    }
}
