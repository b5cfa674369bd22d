package io.uplink.mail.internal.collect;

import java.io.IOException;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

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

    /** Keeps {@code s} (a socket the session opened); closes it at once when the session was already cut. */
    void opened(Socket s) {
        sockets.add(s);
        if (closed) {
            try {
                s.close();
            } catch (IOException e) {
                // closing only to end the session; nothing more to do
            }
        }
    }
}
