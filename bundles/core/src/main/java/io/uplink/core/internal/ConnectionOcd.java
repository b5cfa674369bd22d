package io.uplink.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * The keys of {@code etc/io.uplink.connection-<id>.cfg}, for Karaf's config tools ({@code config:meta}) and as the
 * one list of keys a connection knows: any other key is reported as unknown, with the nearest of these. The keys of
 * the two shipped methods ({@code network.*}, {@code dialup.*}) are listed here too; a key of another installed
 * method ({@code <method>.*}) is that method's to check. The engine reads the properties through
 * {@link io.uplink.api.config.Settings}, which checks them and names file and key on error.
 */
@ObjectClassDefinition(name = "Uplink connection", description = "How to reach the Internet, and which mail tasks run once there")
@interface ConnectionOcd {

    @AttributeDefinition(required = false, description = "Free-text name shown in every status, log line and event; default the id")
    String name();

    @AttributeDefinition(description = "Connection method: network, dialup, or any installed method")
    String method();

    @AttributeDefinition(description = "Fired with the default connections")
    boolean default$() default false;

    @AttributeDefinition(description = "Order among the default connections (lower first)")
    int order() default 0;

    @AttributeDefinition(required = false, description = "Id of the Mail Sender that empties the outgoing queue")
    String sender();

    @AttributeDefinition(required = false, description = "Id of the connection to fire when this one cannot connect")
    String fallback();

    @AttributeDefinition(name = "commands.postConnect", required = false, description = "Command run once connected")
    String commands_postConnect();

    @AttributeDefinition(name = "commands.preDisconnect", required = false, description = "Command run before disconnecting")
    String commands_preDisconnect();

    @AttributeDefinition(name = "commands.timeout", description = "Time limit of each command, e.g. 60s")
    String commands_timeout() default "60s";

    @AttributeDefinition(name = "commands.ignoreExitCode", description = "A non-zero exit does not fail the firing")
    boolean commands_ignoreExitCode() default false;

    @AttributeDefinition(description = "Fire again when mail is queued while this connection is online (feature uplink-scheduler)")
    boolean sendImmediately() default false;

    @AttributeDefinition(name = "firing.timeout", description = "Longest a whole firing may take, e.g. 30m; past it the "
            + "firing stops as on a hang-up (what is stored stays, nothing unstored is deleted)")
    String firing_timeout() default "30m";

    @AttributeDefinition(required = false, description = "In a cluster: the id of the only node that fires this "
            + "connection (node.id in io.uplink.cluster); a dial-up connection must name the node its modem is wired to."
            + " Ignored on a single node")
    String node();

    // ---- the network method

    @AttributeDefinition(name = "network.probe", required = false,
            description = "network method: host:port that must accept a TCP connection before the connection counts as up")
    String network_probe();

    @AttributeDefinition(name = "network.probe.timeout", description = "network method: time limit of that probe")
    String network_probe_timeout() default "5s";

    // ---- the dialup method (feature uplink-dialup)

    @AttributeDefinition(name = "dialup.port", required = false, description = "dialup: the serial device by explicit path, such as /dev/ttyUSB0")
    String dialup_port();

    @AttributeDefinition(name = "dialup.baud", description = "dialup: port speed")
    int dialup_baud() default 115200;

    @AttributeDefinition(name = "dialup.init", description = "dialup: init strings sent in order, separated by |; each must answer OK")
    String dialup_init() default "ATZ | AT&F E0 V1 Q0";

    @AttributeDefinition(name = "dialup.number", required = false, description = "dialup: the number to dial")
    String dialup_number();

    @AttributeDefinition(name = "dialup.dial", description = "dialup: tone (ATDT) or pulse (ATDP)",
            options = {@Option(value = "tone"), @Option(value = "pulse")})
    String dialup_dial() default "tone";

    @AttributeDefinition(name = "dialup.retries", description = "dialup: redials after BUSY, NO CARRIER, silence, ...")
    int dialup_retries() default 3;

    @AttributeDefinition(name = "dialup.interval", description = "dialup: wait between two dial attempts")
    String dialup_interval() default "30s";

    @AttributeDefinition(name = "dialup.connectTimeout", description = "dialup: silence after dialling this long aborts the attempt")
    String dialup_connectTimeout() default "60s";

    @AttributeDefinition(name = "dialup.commandTimeout", description = "dialup: how long the modem may take to answer one command")
    String dialup_commandTimeout() default "5s";

    @AttributeDefinition(name = "dialup.guardTime", description = "dialup: guard time around +++")
    String dialup_guardTime() default "1100ms";

    @AttributeDefinition(name = "dialup.username", required = false, description = "dialup: user for the PPP step")
    String dialup_username();

    @AttributeDefinition(name = "dialup.password", required = false, type = AttributeType.PASSWORD,
            description = "dialup: password for the PPP step, passed in its environment, never on a command line")
    String dialup_password();

    @AttributeDefinition(name = "dialup.ppp.command", required = false, description = "dialup: what brings the IP link up after CONNECT")
    String dialup_ppp_command();

    @AttributeDefinition(name = "dialup.ppp.ready", description = "dialup: the output line (a regular expression) that means the link is up")
    String dialup_ppp_ready() default "local\\s+IP address";

    @AttributeDefinition(name = "dialup.ppp.readyTimeout", description = "dialup: how long to wait for that line")
    String dialup_ppp_readyTimeout() default "30s";

    @AttributeDefinition(name = "dialup.hangup.idle", description = "dialup: 0 = hang up when the firing ends; else keep the line this long")
    String dialup_hangup_idle() default "0";

    @AttributeDefinition(name = "hangup.idle", required = false, description = "dialup: the older name of dialup.hangup.idle")
    String hangup_idle();

    @AttributeDefinition(name = "dialup.lockDir", description = "dialup: folder of UUCP lock files (LCK..<device>)")
    String dialup_lockDir() default "/var/lock";
}
