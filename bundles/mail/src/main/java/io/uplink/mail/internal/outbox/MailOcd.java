package io.uplink.mail.internal.outbox;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** The keys of {@code etc/io.uplink.mail.cfg} (all optional), the one list of them. */
@ObjectClassDefinition(name = "Uplink mail", description = "The outgoing queue, the pickup folder and bounces")
@interface MailOcd {

    @AttributeDefinition(required = false, description = "The queue folder (queue/, failed/, tmp/); default ${karaf.data}/uplink/outbox")
    String outbox_dir();

    @AttributeDefinition(required = false, description = "Files dropped here are queued; default ${karaf.data}/uplink/pickup")
    String pickup_dir();

    @AttributeDefinition(required = false, description = "How often the pickup folder is looked at")
    String pickup_interval() default "2s";

    @AttributeDefinition(required = false, description = "Root of the local mailboxes, one Maildir per mailbox; default ${karaf.data}/uplink/mailboxes")
    String mailboxes_dir();

    @AttributeDefinition(required = false, description = "The local mailbox that receives bounces of bounces (and all bounces with bounce.to = postmaster)")
    String postmaster() default "postmaster";

    @AttributeDefinition(required = false, description = "Who gets the bounce of a failed message: sender, postmaster or both",
            options = {@Option(value = "sender"), @Option(value = "postmaster"), @Option(value = "both")})
    String bounce_to() default "sender";

    @AttributeDefinition(required = false, description = "Domains whose addresses are local mailboxes; default the domains of the route = headers collectors")
    String[] localDomains();

    @AttributeDefinition(required = false, description = "Failed messages and rejected pickup files older than this are removed")
    String failed_retention() default "30d";

    @AttributeDefinition(required = false, description = "Collector sessions open to one server host at once, across all collectors and firings")
    int maxSessionsPerHost() default 8;

    @AttributeDefinition(required = false, description = "Delay after a temporary failure, doubling up to retry.max")
    String retry_initial() default "1m";

    @AttributeDefinition(required = false, description = "Longest delay between two tries")
    String retry_max() default "1h";

    @AttributeDefinition(required = false, description = "Give up (bounce) after this long in the queue")
    String retry_maxAge() default "5d";
}
