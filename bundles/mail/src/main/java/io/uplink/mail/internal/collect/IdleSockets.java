package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

/**
 * The sockets of one IDLE session, so that another thread can end the session at once. Angus ends an IDLE
 * from another thread only by sending DONE and waiting for the server's answer (and a folder close waits the
 * same way), which hangs on a server that no longer answers; closing the socket ends the blocked read now.
 */
final class IdleSockets {

    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** Closes every socket made so far, and every one made from now on. */
    void closeAll() {
        closed = true;
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // closing only to end the session; nothing more to do
            }
        }
    }

    private <S extends Socket> S keep(S s) throws IOException {
        sockets.add(s);
        if (closed) {
            s.close();
        }
        return s;
    }

    /** {@code plain}, recording what it makes. */
    SocketFactory plain(SocketFactory plain) {
        return new SocketFactory() {
            @Override
            public Socket createSocket() throws IOException {
                return keep(plain.createSocket());
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return keep(plain.createSocket(host, port));
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
                return keep(plain.createSocket(host, port, local, localPort));
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return keep(plain.createSocket(host, port));
            }

            @Override
            public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
                return keep(plain.createSocket(host, port, local, localPort));
            }
        };
    }

    /** {@code tls}, recording what it makes. */
    SSLSocketFactory tls(SSLSocketFactory tls) {
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
            public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
                return keep(tls.createSocket(s, host, port, autoClose));
            }

            @Override
            public Socket createSocket() throws IOException {
                return keep(tls.createSocket());
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return keep(tls.createSocket(host, port));
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
                return keep(tls.createSocket(host, port, local, localPort));
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return keep(tls.createSocket(host, port));
            }

            @Override
            public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
                return keep(tls.createSocket(host, port, local, localPort));
            }
        };
    }
}
