package io.uplink.mail.internal.demo;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The keys of {@code etc/io.uplink.demo.cfg}, the one list of them. */
@ObjectClassDefinition(name = "Uplink demo", description = "An embedded mail server on loopback, so the first start has something to do")
@interface DemoOcd {

    @AttributeDefinition(required = false, description = "Whether the demo mail server runs")
    boolean enabled() default true;

    @AttributeDefinition(required = false, description = "Loopback address it listens on: 127.0.0.1, ::1 or localhost")
    String host() default "127.0.0.1";

    @AttributeDefinition(name = "smtp.port", required = false, description = "SMTP port")
    int smtp_port() default 3025;

    @AttributeDefinition(name = "pop3.port", required = false, description = "POP3 port")
    int pop3_port() default 3110;

    @AttributeDefinition(name = "imap.port", required = false, description = "IMAP port")
    int imap_port() default 3143;

    @AttributeDefinition(required = false, type = AttributeType.PASSWORD, description = "Password of the account 'demo'")
    String password() default "demo";
}
