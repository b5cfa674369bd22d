package io.uplink.mail.internal.send;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * The keys of {@code etc/io.uplink.sender-<id>.cfg}: for {@code config:meta}, the web console, and the one list
 * of keys the sender knows (anything else is reported as an unknown key). Read through {@link SenderConfig}.
 */
@ObjectClassDefinition(name = "Uplink Mail Sender", description = "The SMTP relay a connection hands the outgoing queue to")
@interface SenderOcd {

    @AttributeDefinition(description = "Relay hosts as host[:port], comma separated; the next one only when a host does not answer")
    String[] hosts();

    @AttributeDefinition(required = false, description = "Port for hosts without one: 587 (starttls), 465 (tls), 25 (none)")
    int port();

    @AttributeDefinition(required = false, description = "How the connection is protected; certificates always verified",
            options = {@Option(value = "none"), @Option(value = "tls"), @Option(value = "starttls"),
                @Option(value = "starttls-if-available")})
    String security() default "starttls";

    @AttributeDefinition(required = false, description = "PEM/DER/PKCS12/JKS file with a private CA or the server's certificate; relative to etc/")
    String trust_file();

    @AttributeDefinition(required = false, type = AttributeType.PASSWORD, description = "Password of trust.file when it is a key store that needs one")
    String trust_password();

    @AttributeDefinition(required = false, description = "SMTP AUTH user")
    String username();

    @AttributeDefinition(required = false, type = AttributeType.PASSWORD, description = "SMTP AUTH password; never logged or shown")
    String password();

    @AttributeDefinition(required = false, options = {@Option(value = "password"), @Option(value = "oauth2")},
            description = "oauth2: XOAUTH2 with a token from oauth:authorize (README: Microsoft 365 and Gmail)")
    String auth() default "password";

    @AttributeDefinition(required = false, options = {@Option(value = "microsoft"), @Option(value = "google"),
        @Option(value = "custom")}, description = "Who issues the tokens; microsoft and google fill in endpoints and scopes")
    String oauth2_provider() default "custom";

    @AttributeDefinition(required = false, description = "Microsoft: tenant id or domain")
    String oauth2_tenant() default "organizations";

    @AttributeDefinition(required = false, description = "The app registration's client id")
    String oauth2_clientId();

    @AttributeDefinition(type = AttributeType.PASSWORD, required = false, description = "Only for a confidential client")
    String oauth2_clientSecret();

    @AttributeDefinition(required = false, description = "Space separated; overrides the provider's default")
    String oauth2_scope();

    @AttributeDefinition(required = false, description = "custom: the token endpoint")
    String oauth2_tokenUrl();

    @AttributeDefinition(required = false, description = "custom: the device authorization endpoint")
    String oauth2_deviceUrl();

    @AttributeDefinition(required = false, description = "custom: the revocation endpoint")
    String oauth2_revokeUrl();

    @AttributeDefinition(required = false, options = {@Option(value = "xoauth2"), @Option(value = "oauthbearer")},
            description = "The SASL mechanism that carries the token: xoauth2 (Microsoft 365, Gmail) or oauthbearer "
                    + "(RFC 7628: Gmail, Dovecot; not Microsoft 365)")
    String oauth2_mechanism() default "xoauth2";

    @AttributeDefinition(required = false, description = "Name announced in EHLO; default this host's name")
    String helo();

    @AttributeDefinition(required = false, description = "Connect and reply time limit, such as 60s")
    String timeout() default "60s";

    @AttributeDefinition(required = false, description = "Slowest transfer rate accepted; a transfer gets a deadline from its size at this rate")
    String minRate() default "1KiB/s";

    @AttributeDefinition(required = false, description = "At most this many messages per firing; 0 = no limit")
    int maxMessagesPerSession() default 0;

    @AttributeDefinition(required = false, description = "Send only what waited when the firing began")
    boolean onlyWaitingAtStart() default false;

    @AttributeDefinition(required = false, description = "Smaller messages first (urgent ones always first)")
    boolean smallerFirst() default false;
}
