package io.uplink.method.network.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.ConnectionMethod;
import io.uplink.api.method.Link;
import io.uplink.api.method.LinkContext;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

import org.osgi.service.component.annotations.Component;

/**
 * VPOP3's "Use network for Connection": the link is assumed to be there. An optional
 * {@code network.probe = host:port} must accept a TCP connection within {@code network.probe.timeout},
 * so that a dead router fails fast and the connection's fallback can take over.
 */
@Component(service = ConnectionMethod.class, property = ConnectionMethod.PROPERTY + "=network")
public class NetworkMethod implements ConnectionMethod {

    static final String PROBE = "network.probe";
    static final String PROBE_TIMEOUT = "network.probe.timeout";
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    @Override
    public String description() {
        return "the network is always there (optionally checked with a TCP probe: network.probe = host:port)";
    }

    @Override
    public void validate(Settings connection) throws ConfigException {
        probe(connection);
        timeout(connection);
    }

    @Override
    public Link connect(LinkContext context) throws ConnectException, InterruptedException {
        Settings settings = context.settings();
        InetSocketAddress probe = probe(settings);
        if (probe == null) {
            return new NetworkLink("network");
        }
        Duration timeout = timeout(settings);
        context.progress("probing " + probe.getHostString() + ":" + probe.getPort());
        InetSocketAddress target = new InetSocketAddress(probe.getHostString(), probe.getPort());
        if (target.isUnresolved()) {
            throw new ConnectException("network probe " + probe.getHostString() + ":" + probe.getPort()
                    + " failed: the host name cannot be resolved");
        }
        try (Socket socket = new Socket()) {
            socket.connect(target, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        } catch (IOException e) {
            throw new ConnectException("network probe " + probe.getHostString() + ":" + probe.getPort()
                    + " failed: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        return new NetworkLink("network (probe " + probe.getHostString() + ":" + probe.getPort() + " answered)");
    }

    static InetSocketAddress probe(Settings settings) {
        String value = settings.string(PROBE, null);
        if (value == null) {
            return null;
        }
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw settings.problem(PROBE, "must be host:port, got '" + value + "'");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw settings.problem(PROBE, "must be host:port with a numeric port, got '" + value + "'");
        }
        if (port < 1 || port > 65535) {
            throw settings.problem(PROBE, "port must be between 1 and 65535, got " + port);
        }
        // resolved only when connecting: validating must not need a name server
        return InetSocketAddress.createUnresolved(host, port);
    }

    static Duration timeout(Settings settings) {
        Duration d = settings.duration(PROBE_TIMEOUT, DEFAULT_TIMEOUT);
        if (d.isZero()) {
            throw settings.problem(PROBE_TIMEOUT, "must be longer than 0");
        }
        return d;
    }

    private static final class NetworkLink implements Link {
        private final String description;

        NetworkLink(String description) {
            this.description = description;
        }

        @Override
        public String describe() {
            return description;
        }

        @Override
        public void close() {
            // nothing to take down: the network stays
        }
    }
}
