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
import java.nio.channels.SocketChannel;

import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

/**
 * A socket that refuses to read more than {@link #LIMIT} bytes from the server between two writes of the
 * client. An SMTP client only ever reads short replies, so a server that sends more without waiting for a
 * command (an endless line, a flood) is hostile or broken; Jakarta Mail would otherwise buffer it all. It
 * counts the bytes on the wire, so it also guards TLS sessions layered over it.
 */
final class ReplyLimitSocket extends Socket {

    /** Bytes a server may send between two commands. */
    static final int LIMIT = 1024 * 1024;

    /** Thrown when the server sent more than {@link #LIMIT} bytes without waiting for a command. */
    static final class ReplyTooLongException extends IOException {
        private static final long serialVersionUID = 1L;

        ReplyTooLongException() {
            super("the server sent more than " + LIMIT + " bytes without waiting for a command (an endless reply line?)");
        }
    }

    private final Socket s;
    private long unanswered;
    private InputStream in;
    private OutputStream out;

    ReplyLimitSocket(Socket s) {
        this.s = s;
    }

    /** A plain socket factory whose sockets are limited. */
    static SocketFactory plainFactory() {
        return new SocketFactory() {
            @Override
            public Socket createSocket() {
                return new ReplyLimitSocket(new Socket());
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

    /** A TLS socket factory that layers TLS over a limited socket. */
    static SSLSocketFactory tlsFactory(SSLSocketFactory tls) {
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
                Socket limited = plain instanceof ReplyLimitSocket ? plain : new ReplyLimitSocket(plain);
                noDelay(limited);
                return tls.createSocket(limited, host, port, autoClose);
            }

            @Override
            public Socket createSocket() throws IOException {
                // unconnected TLS sockets cannot be layered; Jakarta Mail layers (see createSocket(Socket, ...))
                throw new SocketException("unconnected TLS sockets are not supported");
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                Socket plain = plainFactory().createSocket(host, port);
                return createSocket(plain, host, port, true);
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
                Socket plain = plainFactory().createSocket(host, port, localHost, localPort);
                return createSocket(plain, host, port, true);
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                Socket plain = plainFactory().createSocket(host, port);
                return createSocket(plain, host.getHostAddress(), port, true);
            }

            @Override
            public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                    throws IOException {
                Socket plain = plainFactory().createSocket(address, port, localAddress, localPort);
                return createSocket(plain, address.getHostAddress(), port, true);
            }
        };
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new FilterInputStream(s.getInputStream()) {
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
            s.close();
            throw new ReplyTooLongException();
        }
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new FilterOutputStream(s.getOutputStream()) {
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
        s.connect(endpoint);
        noDelay(s);
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
        s.connect(endpoint, timeout);
        noDelay(s);
    }

    /** SMTP without pipelining is lock-step: Nagle's algorithm only delays the end of each command. */
    static void noDelay(Socket socket) {
        try {
            socket.setTcpNoDelay(true);
        } catch (SocketException e) {
            // not supported on this socket: just slower
        }
    }

    @Override
    public void bind(SocketAddress bindpoint) throws IOException {
        s.bind(bindpoint);
    }

    @Override
    public InetAddress getInetAddress() {
        return s.getInetAddress();
    }

    @Override
    public InetAddress getLocalAddress() {
        return s.getLocalAddress();
    }

    @Override
    public int getPort() {
        return s.getPort();
    }

    @Override
    public int getLocalPort() {
        return s.getLocalPort();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return s.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return s.getLocalSocketAddress();
    }

    @Override
    public SocketChannel getChannel() {
        return null;
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        s.setTcpNoDelay(on);
    }

    @Override
    public boolean getTcpNoDelay() throws SocketException {
        return s.getTcpNoDelay();
    }

    @Override
    public void setSoLinger(boolean on, int linger) throws SocketException {
        s.setSoLinger(on, linger);
    }

    @Override
    public int getSoLinger() throws SocketException {
        return s.getSoLinger();
    }

    @Override
    public synchronized void setSoTimeout(int timeout) throws SocketException {
        s.setSoTimeout(timeout);
    }

    @Override
    public synchronized int getSoTimeout() throws SocketException {
        return s.getSoTimeout();
    }

    @Override
    public synchronized void setSendBufferSize(int size) throws SocketException {
        s.setSendBufferSize(size);
    }

    @Override
    public synchronized int getSendBufferSize() throws SocketException {
        return s.getSendBufferSize();
    }

    @Override
    public synchronized void setReceiveBufferSize(int size) throws SocketException {
        s.setReceiveBufferSize(size);
    }

    @Override
    public synchronized int getReceiveBufferSize() throws SocketException {
        return s.getReceiveBufferSize();
    }

    @Override
    public void setKeepAlive(boolean on) throws SocketException {
        s.setKeepAlive(on);
    }

    @Override
    public boolean getKeepAlive() throws SocketException {
        return s.getKeepAlive();
    }

    @Override
    public synchronized void close() throws IOException {
        s.close();
    }

    @Override
    public void shutdownInput() throws IOException {
        s.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
        s.shutdownOutput();
    }

    @Override
    public boolean isConnected() {
        return s.isConnected();
    }

    @Override
    public boolean isBound() {
        return s.isBound();
    }

    @Override
    public boolean isClosed() {
        return s.isClosed();
    }

    @Override
    public boolean isInputShutdown() {
        return s.isInputShutdown();
    }

    @Override
    public boolean isOutputShutdown() {
        return s.isOutputShutdown();
    }

    @Override
    public String toString() {
        return s.toString();
    }
}
