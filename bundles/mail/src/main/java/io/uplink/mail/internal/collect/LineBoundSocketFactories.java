package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.function.Consumer;

import javax.net.SocketFactory;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

import io.uplink.mail.internal.net.DeadlineSocket;
import io.uplink.mail.internal.net.SessionDeadline;

/**
 * The socket factories a collector hands to Jakarta Mail ({@code mail.<protocol>.socketFactory} and
 * {@code mail.<protocol>.ssl.socketFactory}): every socket bounds its line length and keeps the session's
 * deadlines ({@link DeadlineSocket} under TLS, {@link LineBoundSocket} above it), and TLS (implicit or by
 * STARTTLS) goes through the verifying factory from {@code io.uplink.mail.internal.tls.Tls}, handshaken
 * here so a certificate problem surfaces as such.
 */
final class LineBoundSocketFactories {

    private LineBoundSocketFactories() {
    }

    /** Plain sockets, line-bounded, under the session's deadlines. */
    static SocketFactory plain(long limit, SessionDeadline deadline) {
        return plain(limit, deadline, s -> { });
    }

    /** TLS over a connected socket, line-bounded (see the four-argument form). */
    static SSLSocketFactory tls(SSLSocketFactory verifying, long limit, SessionDeadline deadline) {
        return tls(verifying, limit, deadline, s -> { });
    }

    /**
     * Plain sockets, line-bounded, under the session's deadlines; {@code opened} is told of each socket as
     * the mail library gets it (the collector pipelines POP3 RETR on it).
     */
    static SocketFactory plain(long limit, SessionDeadline deadline, Consumer<Socket> opened) {
        return new SocketFactory() {
            @Override
            public Socket createSocket() throws IOException {
                return wrap(new Socket());
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return wrap(new Socket(host, port));
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
                return wrap(new Socket(host, port, local, localPort));
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return wrap(new Socket(host, port));
            }

            @Override
            public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
                return wrap(new Socket(host, port, local, localPort));
            }

            private Socket wrap(Socket s) throws IOException {
                Socket bounded = new LineBoundSocket(new DeadlineSocket(s, deadline), limit, deadline);
                opened.accept(bounded);
                return bounded;
            }
        };
    }

    /**
     * TLS over a connected socket, line-bounded. Jakarta Mail connects a plain socket and then calls
     * {@link SSLSocketFactory#createSocket(Socket, String, int, boolean)} on this factory, for implicit TLS
     * and for STARTTLS alike; {@code opened} is told of the TLS socket, which replaces the plain one.
     */
    static SSLSocketFactory tls(SSLSocketFactory verifying, long limit, SessionDeadline deadline, Consumer<Socket> opened) {
        return new SSLSocketFactory() {
            @Override
            public String[] getDefaultCipherSuites() {
                return verifying.getDefaultCipherSuites();
            }

            @Override
            public String[] getSupportedCipherSuites() {
                return verifying.getSupportedCipherSuites();
            }

            @Override
            public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
                Socket raw = DeadlineSocket.of(s instanceof LineBoundSocket b ? b.delegate() : s, deadline);
                SSLSocket ssl = (SSLSocket) verifying.createSocket(raw, host, port, autoClose);
                try {
                    DeadlineSocket.handshake(ssl, deadline);
                } catch (IOException e) {
                    ssl.close();
                    throw e;
                }
                Socket bounded = new LineBoundSocket(ssl, limit, deadline);
                opened.accept(bounded);
                return bounded;
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return createSocket(new Socket(host, port), host, port, true);
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
                return createSocket(new Socket(host, port, local, localPort), host, port, true);
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return createSocket(new Socket(host, port), host.getHostName(), port, true);
            }

            @Override
            public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
                return createSocket(new Socket(host, port, local, localPort), host.getHostName(), port, true);
            }
        };
    }
}
