package io.uplink.submission.internal;

import io.uplink.api.mail.LocalMailboxes;
import io.uplink.api.mail.Outbox;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;

/**
 * The submission listener: one SubEthaSMTP server per {@code listen} address, each message handled by an
 * {@link Intake}. OSGi-free, so tests and the benchmark run it in a plain JVM.
 */
final class SubmissionServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SubmissionServer.class);

    final SubmissionConfig config;
    final Outbox outbox;
    final Supplier<LocalMailboxes> local;
    private final Passwords passwords;
    private final List<SMTPServer> servers = new ArrayList<>();

    SubmissionServer(SubmissionConfig config, Outbox outbox, Supplier<LocalMailboxes> local, Passwords passwords) {
        this.config = config;
        this.outbox = outbox;
        this.local = local;
        this.passwords = passwords;
    }

    /** Opens every listen address; on a failure the ones already open are closed again. */
    void start() throws IOException {
        SSLContext tls = config.tls == SubmissionConfig.TlsMode.NONE ? null : ServerTls.context(config);
        try {
            for (InetSocketAddress a : config.listen) {
                SMTPServer.Builder b = SMTPServer.port(a.getPort())
                        .bindAddress(a.getAddress())
                        .hostName(config.hostName)
                        .softwareName("Uplink")
                        .messageHandlerFactory(ctx -> new Intake(this, ctx))
                        .authenticationHandlerFactory(new Auth(new EasyAuthenticationHandlerFactory(this::login)))
                        .showAuthCapabilitiesBeforeSTARTTLS(true)
                        .maxConnections(config.maxConnections)
                        .connectionTimeout((int) config.timeout.toMillis(), TimeUnit.MILLISECONDS)
                        .maxRecipients(config.maxRecipients)
                        .maxMessageSize(config.maxMessageSize)
                        .insertReceivedHeaders(true)
                        .serverThreadName("uplink-submission " + a)
                        .serverSocketFactory(() -> new FilterSocket.Server(config.hostName));
                if (tls != null) {
                    b.enableTLS(true).startTlsSocketFactory(s -> FilterSslSocket.over(tls, s));
                    b.requireTLS(config.tls == SubmissionConfig.TlsMode.REQUIRED);
                }
                SMTPServer server = b.build();
                try {
                    server.start();
                } catch (RuntimeException e) {
                    String why = "cannot listen on " + a + ": " + (e.getCause() != null ? e.getCause().getMessage()
                            : e.getMessage());
                    for (Throwable t = e; t != null; t = t.getCause()) {
                        if (t instanceof java.net.BindException) {
                            throw new AddressInUse(why, e);
                        }
                    }
                    throw new IOException(why, e);
                }
                servers.add(server);
                LOG.info("Submission listener on {}:{} (tls {}, auth {})", a.getAddress().getHostAddress(), server.getPortAllocated(),
                        config.tls.name().toLowerCase(), config.auth.name().toLowerCase().replace('_', '-'));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A listen address another process holds (or held until a moment ago): worth trying again. */
    static final class AddressInUse extends IOException {
        private static final long serialVersionUID = 1L;

        AddressInUse(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The ports actually bound (for listen addresses with port 0 in tests). */
    List<Integer> ports() {
        List<Integer> out = new ArrayList<>();
        servers.forEach(s -> out.add(s.getPortAllocated()));
        return out;
    }

    @Override
    public void close() {
        for (SMTPServer s : servers) {
            try {
                s.stop();
            } catch (RuntimeException e) {
                LOG.warn("Stopping the submission listener on port {}: {}", s.getPort(), e.toString());
            }
        }
        servers.clear();
    }

    static InetAddress client(MessageContext ctx) {
        return ((InetSocketAddress) ctx.getRemoteAddress()).getAddress();
    }

    static boolean tlsStarted(MessageContext ctx) {
        return ctx instanceof Session s && s.isTLSStarted();
    }

    private void login(String user, String password, MessageContext ctx) throws LoginFailedException {
        char[] pw = password.toCharArray();
        try {
            Set<String> roles = passwords.roles(user, pw);
            if (roles == null) {
                LOG.info("Submission: failed login as '{}' from {}", user, client(ctx).getHostAddress());
                throw new LoginFailedException("wrong user name or password");
            }
            if (config.roles.stream().noneMatch(roles::contains)) {
                LOG.info("Submission: '{}' from {} lacks the role {}", user, client(ctx).getHostAddress(),
                        String.join(" or ", config.roles));
                throw new LoginFailedException("user '" + user + "' may not send mail (needs role "
                        + String.join(" or ", config.roles) + ")");
            }
        } finally {
            Arrays.fill(pw, '\0');
        }
    }

    /** AUTH only over TLS, except from a loopback client (a password must not cross the network in clear). */
    private static final class Auth implements AuthenticationHandlerFactory {
        private final AuthenticationHandlerFactory delegate;

        Auth(AuthenticationHandlerFactory delegate) {
            this.delegate = delegate;
        }

        @Override
        public List<String> getAuthenticationMechanisms() {
            return delegate.getAuthenticationMechanisms();
        }

        @Override
        public AuthenticationHandler create() {
            AuthenticationHandler h = delegate.create();
            return new AuthenticationHandler() {
                @Override
                public Optional<String> auth(String clientInput, MessageContext ctx) throws RejectException {
                    if (!client(ctx).isLoopbackAddress() && !tlsStarted(ctx)) {
                        throw new RejectException(538, "5.7.11 Encryption required: STARTTLS first, then AUTH");
                    }
                    return h.auth(clientInput, ctx);
                }

                @Override
                public Object getIdentity() {
                    return h.getIdentity();
                }
            };
        }
    }
}
