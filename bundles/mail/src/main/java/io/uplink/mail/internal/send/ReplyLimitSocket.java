package io.uplink.mail.internal.send;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;

import javax.net.SocketFactory;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

import io.uplink.mail.internal.net.DeadlineSocket;
import io.uplink.mail.internal.net.DelegatingSocket;
import io.uplink.mail.internal.net.SessionDeadline;

/**
 * A socket that refuses to read more than {@link #LIMIT} bytes from the server between two writes of the
 * client. An SMTP client only ever reads short replies, so a server that sends more without waiting for a
 * command (an endless line, a flood) is hostile or broken; Jakarta Mail would otherwise buffer it all. It
 * counts the bytes on the wire, so it also guards TLS sessions layered over it.
 */
final class ReplyLimitSocket extends DelegatingSocket {

    /** Bytes a server may send between two commands. */
    static final int LIMIT = 1024 * 1024;

    /** Thrown when the server sent more than {@link #LIMIT} bytes without waiting for a command. */
    static final class ReplyTooLongException extends IOException {
        private static final long serialVersionUID = 1L;

        ReplyTooLongException() {
            super("the server sent more than " + LIMIT + " bytes without waiting for a command (an endless reply line?)");
        }
    }

    private long unanswered;
    private InputStream in;
    private OutputStream out;

    ReplyLimitSocket(Socket s) throws SocketException {
        super(s);
    }

    /** A plain socket factory whose sockets are limited and keep the session's deadlines. */
    static SocketFactory plainFactory(SessionDeadline deadline) {
        return new SocketFactory() {
            @Override
            public Socket createSocket() throws SocketException {
                return new ReplyLimitSocket(new DeadlineSocket(new Socket(), deadline));
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                Socket r = createSocket();
                r.connect(new java.net.InetSocketAddress(host, port));
                return r;
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
                Socket r = createSocket();
                r.bind(new java.net.InetSocketAddress(localHost, localPort));
                r.connect(new java.net.InetSocketAddress(host, port));
                return r;
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                Socket r = createSocket();
                r.connect(new java.net.InetSocketAddress(host, port));
                return r;
            }

            @Override
            public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                    throws IOException {
                Socket r = createSocket();
                r.bind(new java.net.InetSocketAddress(localAddress, localPort));
                r.connect(new java.net.InetSocketAddress(address, port));
                return r;
            }
        };
    }

    /** A TLS socket factory that layers TLS over a limited socket under the session's deadlines. */
    static SSLSocketFactory tlsFactory(SSLSocketFactory tls, SessionDeadline deadline) {
        return new SSLSocketFactory() {
            @Override
            public String[] getDefaultCipherSuites() {
                return tls.getDefaultCipherSuites();
            }

            @Override
            public String[] getSupportedCipherSuites() {
                return tls.getSupportedCipherSuites();
            }

            @Override
            public Socket createSocket(Socket plain, String host, int port, boolean autoClose) throws IOException {
                Socket limited = plain instanceof ReplyLimitSocket ? plain
                        : new ReplyLimitSocket(DeadlineSocket.of(plain, deadline));
                noDelay(limited);
                SSLSocket ssl = (SSLSocket) tls.createSocket(limited, host, port, autoClose);
                try {
                    // here, so the handshake's writes are not taken for the client's first command
                    DeadlineSocket.handshake(ssl, deadline);
                } catch (IOException e) {
                    ssl.close();
                    throw e;
                }
                return ssl;
            }

            @Override
            public Socket createSocket() throws IOException {
                // unconnected TLS sockets cannot be layered; Jakarta Mail layers (see createSocket(Socket, ...))
                throw new SocketException("unconnected TLS sockets are not supported");
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                Socket plain = plainFactory(deadline).createSocket(host, port);
                return createSocket(plain, host, port, true);
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
                Socket plain = plainFactory(deadline).createSocket(host, port, localHost, localPort);
                return createSocket(plain, host, port, true);
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                Socket plain = plainFactory(deadline).createSocket(host, port);
                return createSocket(plain, host.getHostAddress(), port, true);
            }

            @Override
            public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                    throws IOException {
                Socket plain = plainFactory(deadline).createSocket(address, port, localAddress, localPort);
                return createSocket(plain, address.getHostAddress(), port, true);
            }
        };
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new FilterInputStream(delegate.getInputStream()) {
                @Override
                public int read() throws IOException {
                    int c = super.read();
                    if (c >= 0) {
                        count(1);
                    }
                    return c;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    if (n > 0) {
                        count(n);
                    }
                    return n;
                }
            };
        }
        return in;
    }

    private void count(int n) throws IOException {
        unanswered += n;
        if (unanswered > LIMIT) {
            delegate.close();
            throw new ReplyTooLongException();
        }
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new FilterOutputStream(delegate.getOutputStream()) {
                @Override
                public void write(int b) throws IOException {
                    unanswered = 0;
                    super.out.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    unanswered = 0;
                    super.out.write(b, off, len);
                }
            };
        }
        return out;
    }

    @Override
    public void connect(SocketAddress endpoint) throws IOException {
        delegate.connect(endpoint);
        noDelay(delegate);
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
        delegate.connect(endpoint, timeout);
        noDelay(delegate);
    }

    /** SMTP without pipelining is lock-step: Nagle's algorithm only delays the end of each command. */
    static void noDelay(Socket socket) {
        try {
            socket.setTcpNoDelay(true);
        } catch (SocketException e) {
            // not supported on this socket: just slower
        }
    }
}
