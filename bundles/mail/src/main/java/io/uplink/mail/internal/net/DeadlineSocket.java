package io.uplink.mail.internal.net;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;

/**
 * The transport socket of a mail session (below TLS): every read waits at most until the session's
 * deadline, every write first checks it. See {@link SessionDeadline}.
 */
public final class DeadlineSocket extends DelegatingSocket {

    private final SessionDeadline deadline;
    /** The read timeout the mail library asked for (0 = none). */
    private volatile int configured;
    private int applied = -1;
    private InputStream in;
    private OutputStream out;

    public DeadlineSocket(Socket delegate, SessionDeadline deadline) throws SocketException {
        super(delegate);
        this.deadline = deadline;
    }

    /** The deadline of the session this socket belongs to (the TLS layer over it needs it). */
    public SessionDeadline deadline() {
        return deadline;
    }

    /** Wraps {@code s} unless it already is one. */
    public static DeadlineSocket of(Socket s, SessionDeadline deadline) throws SocketException {
        return s instanceof DeadlineSocket d ? d : new DeadlineSocket(s, deadline);
    }

    /** Runs a TLS handshake over this socket: its writes are not the client's first command. */
    public static void handshake(javax.net.ssl.SSLSocket ssl, SessionDeadline deadline) throws IOException {
        deadline.handshaking(true);
        try {
            ssl.startHandshake();
        } finally {
            deadline.handshaking(false);
        }
    }

    /** Connecting counts against the greeting's deadline (and the firing's), not only against {@code timeout}. */
    @Override
    public void connect(java.net.SocketAddress endpoint, int timeout) throws IOException {
        delegate.connect(endpoint, deadline.beforeRead(timeout));
    }

    @Override
    public void connect(java.net.SocketAddress endpoint) throws IOException {
        connect(endpoint, 0);
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        configured = timeout;
        applied = -1;
        delegate.setSoTimeout(timeout);
    }

    @Override
    public int getSoTimeout() {
        return configured;
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new FilterInputStream(delegate.getInputStream()) {
                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    int n = read(one, 0, 1);
                    return n < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int c = configured;
                    int t = deadline.beforeRead(c);
                    if (t != applied) {
                        delegate.setSoTimeout(t);
                        applied = t;
                    }
                    int n;
                    try {
                        n = super.read(b, off, len);
                    } catch (SocketTimeoutException e) {
                        throw deadline.timedOut(e, c);
                    }
                    if (n < 0) {
                        deadline.closedByServer();
                    }
                    return n;
                }
            };
        }
        return in;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new FilterOutputStream(delegate.getOutputStream()) {
                @Override
                public void write(int b) throws IOException {
                    deadline.beforeWrite();
                    out.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    deadline.beforeWrite();
                    out.write(b, off, len);
                }
            };
        }
        return out;
    }
}
