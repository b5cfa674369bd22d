package io.uplink.mail.internal.collect;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.util.Set;

/**
 * A socket whose input stream fails with {@link LineTooLongException} once a line grows past a limit.
 * Jakarta Mail reads a server's reply lines into memory without a bound; this bounds them, so a server
 * that sends an endless line costs a clear error instead of the heap.
 */
final class LineBoundSocket extends Socket {

    private final Socket delegate;
    private final long limit;
    private InputStream in;

    LineBoundSocket(Socket delegate, long limit) throws SocketException {
        super((SocketImpl) null);
        this.delegate = delegate;
        this.limit = limit;
    }

    /** The wrapped socket (TLS is layered onto it, not onto this wrapper). */
    Socket delegate() {
        return delegate;
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new Bounded(delegate.getInputStream(), limit);
        }
        return in;
    }

    /** Counts bytes since the last line feed. */
    static final class Bounded extends FilterInputStream {
        private final long limit;
        private long run;

        Bounded(InputStream in, long limit) {
            super(in);
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(b);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            for (int i = 0; i < n; i++) {
                count(buf[off + i]);
            }
            return n;
        }

        private void count(int b) throws LineTooLongException {
            if (b == '\n') {
                run = 0;
            } else if (++run > limit) {
                throw new LineTooLongException(limit);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            return super.skip(n);
        }
    }

    @Override public OutputStream getOutputStream() throws IOException { return delegate.getOutputStream(); }
    @Override public void connect(SocketAddress endpoint) throws IOException { delegate.connect(endpoint); }
    @Override public void connect(SocketAddress endpoint, int timeout) throws IOException { delegate.connect(endpoint, timeout); }
    @Override public void bind(SocketAddress bindpoint) throws IOException { delegate.bind(bindpoint); }
    @Override public InetAddress getInetAddress() { return delegate.getInetAddress(); }
    @Override public InetAddress getLocalAddress() { return delegate.getLocalAddress(); }
    @Override public int getPort() { return delegate.getPort(); }
    @Override public int getLocalPort() { return delegate.getLocalPort(); }
    @Override public SocketAddress getRemoteSocketAddress() { return delegate.getRemoteSocketAddress(); }
    @Override public SocketAddress getLocalSocketAddress() { return delegate.getLocalSocketAddress(); }
    @Override public SocketChannel getChannel() { return null; }
    @Override public void setTcpNoDelay(boolean on) throws SocketException { delegate.setTcpNoDelay(on); }
    @Override public boolean getTcpNoDelay() throws SocketException { return delegate.getTcpNoDelay(); }
    @Override public void setSoLinger(boolean on, int linger) throws SocketException { delegate.setSoLinger(on, linger); }
    @Override public int getSoLinger() throws SocketException { return delegate.getSoLinger(); }
    @Override public void sendUrgentData(int data) throws IOException { delegate.sendUrgentData(data); }
    @Override public void setOOBInline(boolean on) throws SocketException { delegate.setOOBInline(on); }
    @Override public boolean getOOBInline() throws SocketException { return delegate.getOOBInline(); }
    @Override public synchronized void setSoTimeout(int timeout) throws SocketException { delegate.setSoTimeout(timeout); }
    @Override public synchronized int getSoTimeout() throws SocketException { return delegate.getSoTimeout(); }
    @Override public synchronized void setSendBufferSize(int size) throws SocketException { delegate.setSendBufferSize(size); }
    @Override public synchronized int getSendBufferSize() throws SocketException { return delegate.getSendBufferSize(); }
    @Override public synchronized void setReceiveBufferSize(int size) throws SocketException { delegate.setReceiveBufferSize(size); }
    @Override public synchronized int getReceiveBufferSize() throws SocketException { return delegate.getReceiveBufferSize(); }
    @Override public void setKeepAlive(boolean on) throws SocketException { delegate.setKeepAlive(on); }
    @Override public boolean getKeepAlive() throws SocketException { return delegate.getKeepAlive(); }
    @Override public void setTrafficClass(int tc) throws SocketException { delegate.setTrafficClass(tc); }
    @Override public int getTrafficClass() throws SocketException { return delegate.getTrafficClass(); }
    @Override public void setReuseAddress(boolean on) throws SocketException { delegate.setReuseAddress(on); }
    @Override public boolean getReuseAddress() throws SocketException { return delegate.getReuseAddress(); }
    @Override public synchronized void close() throws IOException { delegate.close(); }
    @Override public void shutdownInput() throws IOException { delegate.shutdownInput(); }
    @Override public void shutdownOutput() throws IOException { delegate.shutdownOutput(); }
    @Override public String toString() { return delegate.toString(); }
    @Override public boolean isConnected() { return delegate.isConnected(); }
    @Override public boolean isBound() { return delegate.isBound(); }
    @Override public boolean isClosed() { return delegate.isClosed(); }
    @Override public boolean isInputShutdown() { return delegate.isInputShutdown(); }
    @Override public boolean isOutputShutdown() { return delegate.isOutputShutdown(); }
    @Override public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        delegate.setPerformancePreferences(connectionTime, latency, bandwidth);
    }
    @Override public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
        delegate.setOption(name, value);
        return this;
    }
    @Override public <T> T getOption(SocketOption<T> name) throws IOException { return delegate.getOption(name); }
    @Override public Set<SocketOption<?>> supportedOptions() { return delegate.supportedOptions(); }
}
