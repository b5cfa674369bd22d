package io.uplink.api.method;

import io.uplink.api.config.Settings;

/** What a method gets when asked to connect. */
public interface LinkContext {

    /** The connection's id. */
    String connectionId();

    /** The connection's name. */
    String connectionName();

    /** The id of the firing that connects. */
    String firingId();

    /** The connection's settings, the method's own keys among them. */
    Settings settings();

    /** Reports what the method is doing, such as {@code attempt 2/4: BUSY}; shown in the status. */
    void progress(String message);
}
