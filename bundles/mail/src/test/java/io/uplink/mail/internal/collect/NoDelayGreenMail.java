package io.uplink.mail.internal.collect;

import java.net.Socket;
import java.net.SocketException;
import java.util.Map;

import com.icegreen.greenmail.Managers;
import com.icegreen.greenmail.imap.ImapHandler;
import com.icegreen.greenmail.server.AbstractServer;
import com.icegreen.greenmail.server.ProtocolHandler;
import com.icegreen.greenmail.pop3.Pop3Server;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * GreenMail whose POP3 and IMAP sessions write with TCP_NODELAY, as real servers (Dovecot) do. GreenMail 2.1.3
 * writes an answer in several small writes (untagged lines, then the tagged one); with Nagle on, each one after the
 * first waits for the client's delayed ACK (40 ms on loopback), so a collector that asks a header per message (route
 * = headers) spent about 0.4 s per message waiting. Same protocol, same bytes, only the waits are gone. Use
 * {@link #port} instead of {@code getImap()}, which casts to GreenMail's own IMAP server class (final, so not
 * subclassed here); {@code getPop3()} and {@code getSmtp()} work as before.
 */
public final class NoDelayGreenMail extends GreenMail {

    public NoDelayGreenMail(ServerSetup... setups) {
        super(setups);
    }

    /** The port of the service for {@code protocol} ({@code "pop3"}, {@code "imap"}). */
    public int port(String protocol) {
        return services.get(protocol).getPort();
    }

    @Override
    protected Map<String, AbstractServer> createServices(ServerSetup[] config, Managers mgr) {
        Map<String, AbstractServer> services = super.createServices(config, mgr);
        for (ServerSetup setup : config) {
            String protocol = setup.getProtocol();
            if (protocol.equals(ServerSetup.PROTOCOL_POP3)) {
                services.put(protocol, new Pop3Server(setup, mgr) {
                    @Override
                    protected ProtocolHandler createProtocolHandler(Socket socket) {
                        noDelay(socket);
                        return super.createProtocolHandler(socket);
                    }
                });
            } else if (protocol.equals(ServerSetup.PROTOCOL_IMAP)) {
                services.put(protocol, new AbstractServer(setup, mgr) {
                    @Override
                    protected ProtocolHandler createProtocolHandler(Socket socket) {
                        noDelay(socket);
                        return new ImapHandler(managers.getUserManager(), managers.getImapHostManager(), socket);
                    }
                });
            }
        }
        return services;
    }

    private static void noDelay(Socket socket) {
        try {
            socket.setTcpNoDelay(true);
        } catch (SocketException e) {
            throw new IllegalStateException("TCP_NODELAY on a GreenMail session", e);
        }
    }
}
