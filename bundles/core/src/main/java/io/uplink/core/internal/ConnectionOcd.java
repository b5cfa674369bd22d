package io.uplink.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The keys of {@code etc/io.uplink.connection-<id>.cfg}, for Karaf's config tools. The component reads the
 * properties through {@link io.uplink.api.config.Settings}, which checks them and names file and key on error.
 */
@ObjectClassDefinition(name = "Uplink connection", description = "How to reach the Internet, and which mail tasks run once there")
@interface ConnectionOcd {

    @AttributeDefinition(description = "Free-text name shown in every status, log line and event")
    String name();

    @AttributeDefinition(description = "Connection method: network, dialup, or any installed method")
    String method();

    @AttributeDefinition(description = "Fired with the default connections")
    boolean default$() default false;

    @AttributeDefinition(description = "Order among the default connections (lower first)")
    int order() default 0;

    @AttributeDefinition(description = "Id of the Mail Sender that empties the outgoing queue")
    String sender() default "";

    @AttributeDefinition(description = "Id of the connection to fire when this one cannot connect")
    String fallback() default "";

    @AttributeDefinition(name = "commands.postConnect", description = "Command run once connected")
    String commands_postConnect() default "";

    @AttributeDefinition(name = "commands.preDisconnect", description = "Command run before disconnecting")
    String commands_preDisconnect() default "";

    @AttributeDefinition(name = "commands.timeout", description = "Time limit of each command, e.g. 60s")
    String commands_timeout() default "60s";

    @AttributeDefinition(name = "commands.ignoreExitCode", description = "A non-zero exit does not fail the firing")
    boolean commands_ignoreExitCode() default false;

    @AttributeDefinition(name = "firing.timeout", description = "Longest a whole firing may take, e.g. 30m; past it the "
            + "firing stops as on a hang-up (what is stored stays, nothing unstored is deleted)")
    String firing_timeout() default "30m";
}
