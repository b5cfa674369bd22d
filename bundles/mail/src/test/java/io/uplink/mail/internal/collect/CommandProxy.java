package io.uplink.mail.internal.collect;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A line-based TCP proxy between a mail client and a POP3/IMAP server that stops the session at a chosen
 * protocol line, so a kill test can land exactly where it means to (the 100th RETR, the first DELE, the
 * STORE of \Deleted), not wherever a timer happens to fall. Lines are passed on whole; the first line the
 * trigger matches (client lines are given as {@code "C: ..."}, server lines as {@code "S: ..."}) is held
 * back with everything after it, in both directions, until the proxy is closed: the client waits for an
 * answer that never comes and the server never sees the command.
 */
public final class CommandProxy implements Closeable {

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final Predicate<String> trigger;
    private final CountDownLatch held = new CountDownLatch(1);
    private final List<Socket> sockets = new ArrayList<>();
    private volatile String heldLine;
    private volatile boolean closed;

    /** Listens on a free loopback port and forwards each connection to {@code target}. */
    public CommandProxy(InetSocketAddress target, Predicate<String> trigger) throws IOException {
        this.target = target;
        this.trigger = trigger;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::accept, "command-proxy-accept");
        accept.setDaemon(true);
        accept.start();
    }

    /** A trigger that matches the {@code n}th line (1-based) the given one matches. */
    public static Predicate<String> nth(int n, Predicate<String> line) {
        int[] seen = {0};
        return l -> line.test(l) && ++seen[0] == n;
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Waits until the trigger matched; returns the line it held back, or {@code null} on time-out. */
    public String awaitHeld(long timeout, TimeUnit unit) throws InterruptedException {
        return held.await(timeout, unit) ? heldLine : null;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(target.getAddress(), target.getPort());
                // whole lines are written as they come; without TCP_NODELAY each small write after the first waits
                // for the peer's delayed ACK (40 ms on loopback), which made a 500-message session take a minute
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                synchronized (sockets) {
                    sockets.add(client);
                    sockets.add(server);
                }
                pump(client.getInputStream(), server.getOutputStream(), "C: ", client, server);
                pump(server.getInputStream(), client.getOutputStream(), "S: ", client, server);
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("command proxy: " + e);
                }
            }
        }
    }

    private void pump(InputStream in, OutputStream socketOut, String side, Socket client, Socket server) {
        Thread t = new Thread(() -> {
            // the lines of one read go out in one write: what came before a held line is still passed on
            OutputStream out = new BufferedOutputStream(socketOut, 64 * 1024);
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * 1024];
            try {
                for (int n; (n = in.read(buf)) > 0;) {
                    int start = 0;
                    for (int i = 0; i < n; i++) {
                        if (buf[i] == '\n') {
                            line.write(buf, start, i + 1 - start);
                            start = i + 1;
                            if (!pass(line, out, side)) {
                                out.flush();
                                return;
                            }
                            line.reset();
                        }
                    }
                    line.write(buf, start, n - start);
                    out.flush();
                }
            } catch (IOException e) {
                // the session ended (or the proxy was closed)
            } finally {
                if (held.getCount() > 0) {
                    // an ordinary end of the session; a held one stays open until the test closes the proxy
                    closeQuietly(client);
                    closeQuietly(server);
                }
            }
        }, "command-proxy-" + side.charAt(0));
        t.setDaemon(true);
        t.start();
    }

    /** Passes one whole line on, unless the session is held; returns false once held. */
    private boolean pass(ByteArrayOutputStream line, OutputStream out, String side) throws IOException {
        synchronized (held) {
            if (held.getCount() == 0) {
                return false;
            }
            String text = side + line.toString(StandardCharsets.ISO_8859_1).stripTrailing();
            if (trigger.test(text)) {
                heldLine = text;
                held.countDown();
                return false;
            }
            line.writeTo(out);
            return true;
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        synchronized (sockets) {
            for (Socket s : sockets) {
                s.close();
            }
            sockets.clear();
        }
    }
}
