package io.uplink.web.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** {@code etc/io.uplink.web.cfg}. */
@ObjectClassDefinition(name = "Uplink web", description = "Who may see and fire connections on the status page and API")
@interface WebConfig {

    @AttributeDefinition(description = "JAAS realm that checks the user name and password")
    String realm() default "karaf";

    @AttributeDefinition(name = "role.read", description = "Role needed to see the page and read the API")
    String role_read() default "viewer";

    @AttributeDefinition(name = "role.fire", description = "Role needed to fire and hang up connections")
    String role_fire() default "admin";
}
