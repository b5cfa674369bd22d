package io.uplink.api.method;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.util.Set;

/**
 * A way to reach the Internet, such as {@code network} or {@code dialup}. Register it as an OSGi service
 * with the property {@link #PROPERTY} set to the method's name; connections configured with
 * {@code method = <name>} become usable the moment it is registered, and go back to WAITING when it goes.
 *
 * <p>A method reads its own keys, all prefixed with {@code <name>.}, from the connection's {@link Settings}.
 * Implementations must be thread-safe: different connections may connect at the same time.
 */
public interface ConnectionMethod {

    /** Service property naming the method. */
    String PROPERTY = "uplink.method";

    /** A line for {@code connection:methods}. */
    String description();

    /**
     * Checks the method's own keys of a connection. Called when the connection is configured and when the
     * method appears.
     *
     * @throws ConfigException naming the key at fault
     */
    void validate(Settings connection) throws ConfigException;

    /**
     * Resources the connection holds exclusively while it fires, such as {@code serial:/dev/ttyUSB0}. Two
     * connections that share a resource never fire at the same time.
     */
    default Set<String> resources(Settings connection) {
        return Set.of();
    }

    /**
     * Brings the link up. May block (dialling, redialling); must give up when the thread is interrupted.
     *
     * @param context where to report progress and the connection's settings
     * @return the open link; the caller closes it
     * @throws ConnectException when the link cannot be brought up; the connection's fallback may be fired
     */
    Link connect(LinkContext context) throws ConnectException, InterruptedException;

    /**
     * Takes down any link this method keeps up for the connection between firings (for example a modem line
     * kept for an idle time). The default does nothing.
     *
     * @return whether a link was taken down
     */
    default boolean hangup(Settings connection) {
        return false;
    }
}
