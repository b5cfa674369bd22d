package io.uplink.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** {@code etc/io.uplink.core.cfg}. */
@ObjectClassDefinition(name = "Uplink core", description = "Limits and places of Uplink's connections")
@interface CoreConfig {

    @AttributeDefinition(description = "At most this many connections are active; the next ones are REJECTED (VPOP3's limit is 10)")
    int maxConnections() default 10;

    @AttributeDefinition(name = "history.size", description = "Firings kept per connection")
    int history_size() default 100;

    @AttributeDefinition(name = "collectors.parallel", description = "Mail Collector sessions open at the same time across all firings (one pool)")
    int collectors_parallel() default 16;
}
