package io.uplink.itests;

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
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A line-based TCP proxy for the cluster's kill and pause tests: it holds the first session at a chosen protocol
 * line (like {@code CommandProxy}, client lines {@code "C: ..."}, server lines {@code "S: ..."}), and unlike it
 * lets every later session through, so that the node taking over collects through the same address. Once
 * {@link #release} is called the held session goes on as well (a paused node resumed). Every line passed is kept
 * with its session's number, so a test can see what a session sent after a given moment.
 */
final class GateProxy implements Closeable {

    /** A line passed on: the session's number (1 = the held one) and the line. */
    record Line(int session, String text) {
    }

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final Predicate<String> trigger;
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger sessions = new AtomicInteger();
    private final List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
    private final List<Line> lines = Collections.synchronizedList(new ArrayList<>());
    private final java.util.Set<Integer> ended = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile String heldLine;
    private volatile boolean closed;

    GateProxy(InetSocketAddress target, Predicate<String> trigger) throws IOException {
        this.target = target;
        this.trigger = trigger;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::accept, "gate-proxy-accept");
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Waits until the first session reached the trigger; returns the held line, or {@code null} on time-out. */
    String awaitHeld(long timeout, TimeUnit unit) throws InterruptedException {
        return held.await(timeout, unit) ? heldLine : null;
    }

    /** Lets the held session go on. */
    void release() {
        released.countDown();
    }

    /** How many sessions were opened through the proxy. */
    int sessions() {
        return sessions.get();
    }

    /** Whether a session's connection has closed (on either side). */
    boolean ended(int session) {
        return ended.contains(session);
    }

    /** The lines passed so far. */
    List<Line> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(target.getAddress(), target.getPort());
                // without TCP_NODELAY each small line write after the first waits for the peer's delayed ACK
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(server);
                int session = sessions.incrementAndGet();
                pump(session, client.getInputStream(), server.getOutputStream(), "C: ", client, server);
                pump(session, server.getInputStream(), client.getOutputStream(), "S: ", client, server);
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("gate proxy: " + e);
                }
            }
        }
    }

    private void pump(int session, InputStream in, OutputStream socketOut, String side, Socket client, Socket server) {
        Thread t = new Thread(() -> {
            // the lines of one read go out in one write (flushed before a held line waits)
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
                            pass(session, line, out, side);
                            line.reset();
                        }
                    }
                    line.write(buf, start, n - start);
                    out.flush();
                }
            } catch (IOException e) {
                // the session ended (or the proxy was closed)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                ended.add(session);
                close(client);
                close(server);
            }
        }, "gate-proxy-" + session + side.charAt(0));
        t.setDaemon(true);
        t.start();
    }

    /** Passes one whole line on; the first session's trigger line (and all after it) waits for {@link #release}. */
    private void pass(int session, ByteArrayOutputStream line, OutputStream out, String side)
            throws IOException, InterruptedException {
        String text = side + line.toString(StandardCharsets.ISO_8859_1).stripTrailing();
        if (session == 1) {
            boolean hold;
            synchronized (held) {
                if (held.getCount() > 0 && trigger.test(text)) {
                    heldLine = text;
                    held.countDown();
                }
                hold = held.getCount() == 0;
            }
            if (hold) {
                out.flush();
                released.await();
            }
        }
        lines.add(new Line(session, text));
        line.writeTo(out);
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        released.countDown();
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        synchronized (sockets) {
            sockets.forEach(GateProxy::close);
        }
    }
}
