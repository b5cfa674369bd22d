package io.uplink.submission.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;

import javax.net.ssl.HandshakeCompletedListener;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/** The client connection after STARTTLS: TLS over the raw connection, the replies through a {@link ReplyFilter}. */
final class FilterSslSocket extends SSLSocket {

    /** Starts TLS on a connection the listener accepted. */
    static SSLSocket over(SSLContext context, Socket accepted) throws IOException {
        Socket raw = accepted instanceof FilterSocket f ? f.raw() : accepted;
        String host = accepted instanceof FilterSocket f ? f.hostName() : "localhost";
        SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(raw, raw.getInetAddress().getHostAddress(),
                raw.getPort(), true);
        ssl.setUseClientMode(false);
        return new FilterSslSocket(ssl, host);
    }

    private final SSLSocket ssl;
    private final String hostName;
    private OutputStream out;

    private FilterSslSocket(SSLSocket ssl, String hostName) {
        this.ssl = ssl;
        this.hostName = hostName;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new ReplyFilter(ssl.getOutputStream(), hostName);
        }
        return out;
    }

    @Override
    public InputStream getInputStream() throws IOException {
        return ssl.getInputStream();
    }

    @Override
    public void close() throws IOException {
        ssl.close();
    }

    @Override
    public boolean isClosed() {
        return ssl.isClosed();
    }

    @Override
    public boolean isConnected() {
        return ssl.isConnected();
    }

    @Override
    public boolean isBound() {
        return ssl.isBound();
    }

    @Override
    public InetAddress getInetAddress() {
        return ssl.getInetAddress();
    }

    @Override
    public int getPort() {
        return ssl.getPort();
    }

    @Override
    public InetAddress getLocalAddress() {
        return ssl.getLocalAddress();
    }

    @Override
    public int getLocalPort() {
        return ssl.getLocalPort();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return ssl.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return ssl.getLocalSocketAddress();
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        ssl.setSoTimeout(timeout);
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return ssl.getSoTimeout();
    }

    @Override
    public void shutdownInput() throws IOException {
        ssl.shutdownInput();
    }

    @Override
    public void shutdownOutput() throws IOException {
        ssl.shutdownOutput();
    }

    @Override
    public String toString() {
        return ssl.toString();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return ssl.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return ssl.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
        ssl.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
        return ssl.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
        return ssl.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
        ssl.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
        return ssl.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
        return ssl.getHandshakeSession();
    }

    @Override
    public void addHandshakeCompletedListener(HandshakeCompletedListener listener) {
        ssl.addHandshakeCompletedListener(listener);
    }

    @Override
    public void removeHandshakeCompletedListener(HandshakeCompletedListener listener) {
        ssl.removeHandshakeCompletedListener(listener);
    }

    @Override
    public void startHandshake() throws IOException {
        ssl.startHandshake();
    }

    @Override
    public void setUseClientMode(boolean mode) {
        ssl.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
        return ssl.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
        ssl.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
        return ssl.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
        ssl.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
        return ssl.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
        ssl.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
        return ssl.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
        return ssl.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters params) {
        ssl.setSSLParameters(params);
    }

    @Override
    public String getApplicationProtocol() {
        return ssl.getApplicationProtocol();
    }
}
