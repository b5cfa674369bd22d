package io.uplink.mail.internal.collect;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of an IMAP server that watches the client's commands: how many connections are in IDLE
 * right now (an {@code IDLE} command sent, its {@code DONE} not yet), the most there ever were at once, how
 * many IDLE commands were sent; and it can cut every connection, as a server or a router that drops them.
 */
final class IdleProxy implements Closeable {

    private final ServerSocket listener;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger idling = new AtomicInteger();
    final AtomicInteger mostIdlingAtOnce = new AtomicInteger();
    final AtomicInteger idleCommands = new AtomicInteger();

    IdleProxy(int target) throws IOException {
        this(target, 0);
    }

    /** A proxy on {@code port} (0: a free one), such as the port of one that was closed. */
    IdleProxy(int target, int port) throws IOException {
        this.target = target;
        this.listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        Thread t = new Thread(this::accept, "idle-proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Drops every open connection at once. */
    void cutAll() {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // dropping is all we want
            }
        }
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(server);
                connections.incrementAndGet();
                boolean[] inIdle = {false};
                pump(server.getInputStream(), client.getOutputStream(), null, inIdle, client, server);
                pump(client.getInputStream(), server.getOutputStream(), new StringBuilder(), inIdle, client, server);
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Copies bytes; on the client's side ({@code line} not null) it reads the commands line by line. */
    private void pump(InputStream in, OutputStream out, StringBuilder line, boolean[] inIdle, Socket a, Socket b) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (line != null) {
                        for (int i = 0; i < n; i++) {
                            char c = (char) (buf[i] & 0xff);
                            if (c == '\n') {
                                command(line.toString().trim().toUpperCase(Locale.ROOT), inIdle);
                                line.setLength(0);
                            } else if (line.length() < 1000) {
                                line.append(c);
                            }
                        }
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed: close both below
            } finally {
                synchronized (inIdle) {
                    if (inIdle[0]) {
                        inIdle[0] = false;
                        idling.decrementAndGet();
                    }
                }
                close(a);
                close(b);
            }
        }, "idle-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private void command(String l, boolean[] inIdle) {
        synchronized (inIdle) {
            if (l.matches("\\S+ IDLE") && !inIdle[0]) {
                inIdle[0] = true;
                idleCommands.incrementAndGet();
                mostIdlingAtOnce.accumulateAndGet(idling.incrementAndGet(), Math::max);
            } else if (l.equals("DONE") && inIdle[0]) {
                inIdle[0] = false;
                idling.decrementAndGet();
            }
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        cutAll();
    }
}
