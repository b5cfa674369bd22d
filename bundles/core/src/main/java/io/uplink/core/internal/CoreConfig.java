package io.uplink.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** {@code etc/io.uplink.core.cfg}: the one list of its keys (the {@code notify.*} ones are read by the error notices). */
@ObjectClassDefinition(name = "Uplink core", description = "Limits and places of Uplink's connections")
@interface CoreConfig {

    @AttributeDefinition(description = "At most this many connections are active; the next ones are REJECTED (VPOP3's limit is 10)")
    int maxConnections() default 10;

    @AttributeDefinition(name = "history.size", description = "Firings kept per connection")
    int history_size() default 100;

    @AttributeDefinition(name = "collectors.parallel", description = "Mail Collector sessions open at the same time across all firings (one pool)")
    int collectors_parallel() default 16;

    @AttributeDefinition(name = "config.recheck", description = "Every etc/io.uplink.*.cfg is read again this often and "
            + "compared with its live configuration, to catch an edit FileInstall cannot see (size and modification time "
            + "kept); 0 = only files whose size or time changed (those are compared within seconds)")
    String config_recheck() default "5m";

    @AttributeDefinition(name = "notify.to", required = false,
            description = "Addresses (comma separated) that get error notices; unset: the local postmaster mailbox")
    String[] notify_to();

    @AttributeDefinition(name = "notify.repeat", description = "The same error on the same connection is mailed again at most this often")
    String notify_repeat() default "1h";

    @AttributeDefinition(name = "notify.from", description = "The notices' sender address")
    String notify_from() default "uplink@localhost";
}
