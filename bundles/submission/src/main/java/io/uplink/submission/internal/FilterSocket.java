package io.uplink.submission.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;

/** An accepted client connection whose replies pass through a {@link ReplyFilter}. */
final class FilterSocket extends Socket {

    /** Hands out {@link FilterSocket}s. */
    static final class Server extends ServerSocket {
        private final String hostName;

        Server(String hostName) throws IOException {
            super();
            this.hostName = hostName;
        }

        @Override
        public Socket accept() throws IOException {
            Socket s = super.accept();
            // replies are small and each is one write: do not let Nagle hold one back for the client's delayed ACK
            s.setTcpNoDelay(true);
            return new FilterSocket(s, hostName);
        }
    }

    private final Socket raw;
    private final String hostName;
    private OutputStream out;

    FilterSocket(Socket raw, String hostName) {
        this.raw = raw;
        this.hostName = hostName;
    }

    /** The connection itself, for STARTTLS (TLS records must not pass through the filter). */
    Socket raw() {
        return raw;
    }

    String hostName() {
        return hostName;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new ReplyFilter(raw.getOutputStream(), hostName);
        }
        return out;
    }

    @Override
    public InputStream getInputStream() throws IOException {
        return raw.getInputStream();
    }

    @Override
    public void close() throws IOException {
        raw.close();
    }

    @Override
    public boolean isClosed() {
        return raw.isClosed();
    }

    @Override
    public boolean isConnected() {
        return raw.isConnected();
    }

    @Override
    public boolean isBound() {
        return raw.isBound();
    }

    @Override
    public InetAddress getInetAddress() {
        return raw.getInetAddress();
    }

    @Override
    public int getPort() {
        return raw.getPort();
    }

    @Override
    public InetAddress getLocalAddress() {
        return raw.getLocalAddress();
    }

    @Override
    public int getLocalPort() {
        return raw.getLocalPort();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return raw.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return raw.getLocalSocketAddress();
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        raw.setSoTimeout(timeout);
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return raw.getSoTimeout();
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        raw.setTcpNoDelay(on);
    }

    @Override
    public void shutdownInput() throws IOException {
        raw.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
        raw.shutdownOutput();
    }

    @Override
    public boolean isInputShutdown() {
        return raw.isInputShutdown();
    }

    @Override
    public boolean isOutputShutdown() {
        return raw.isOutputShutdown();
    }

    @Override
    public String toString() {
        return raw.toString();
    }
}
