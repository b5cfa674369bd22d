package io.uplink.mail.internal.collect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import io.uplink.mail.internal.LoopbackServer;
import io.uplink.mail.internal.PacedWriter;

/**
 * A POP3 server on a real loopback socket for the hostile cases GreenMail cannot play: a greeting that
 * drips or never comes, a connection closed during the greeting or in the middle of RETR, a refused login
 * with a given reply, no UIDL, a message slower than any honest server, more bytes than LIST announced.
 * Deletions take effect at QUIT, as RFC 1939 says.
 */
final class ScriptedPop3Server implements AutoCloseable {

    /** How the greeting goes. */
    enum Greeting { NORMAL, DRIP, SILENT, CLOSE }

    /** One mailbox message. */
    record Mail(String uid, byte[] bytes) {
    }

    final List<Mail> mails = new CopyOnWriteArrayList<>();
    final List<String> commands = new CopyOnWriteArrayList<>();
    final AtomicInteger sessions = new AtomicInteger();

    volatile Greeting greeting = Greeting.NORMAL;
    /** Greeting drip: one byte per this many milliseconds. */
    volatile long dripMillis = 2000;
    /** Reply to PASS; null accepts. */
    volatile String passReply;
    volatile boolean uidl = true;
    /** 1-based number of the message whose RETR is cut halfway; -1 none. */
    volatile int cutRetrOf = -1;
    /** 1-based number of the message sent slowly; -1 none. */
    volatile int slowRetrOf = -1;
    /** Bytes per second of the slow message, in ten ticks a second. */
    volatile int slowBytesPerSecond = 100;
    /** 1-based number of the message whose LIST size is announced as 100 bytes; -1 none. */
    volatile int understateOf = -1;
    /** Whether CAPA offers PIPELINING (RFC 2449); commands are answered in order either way. */
    volatile boolean pipelining;
    /** RETR commands read while the client's next command had already arrived (sent without waiting). */
    final AtomicInteger retrsAhead = new AtomicInteger();
    /** DELE commands read while the client's next command had already arrived. */
    final AtomicInteger delesAhead = new AtomicInteger();
    /** LIST commands read while the client's next command had already arrived (UIDL right behind it). */
    final AtomicInteger listsAhead = new AtomicInteger();
    /** Whether LIST is refused ({@code -ERR}). */
    volatile boolean refuseList;
    /** 1-based number of the message whose DELE is refused ({@code -ERR}); -1 none. */
    volatile int refuseDeleOf = -1;

    private final ServerSocket server;
    private final PacedWriter paced = new PacedWriter();

    ScriptedPop3Server() throws IOException {
        server = LoopbackServer.start("scripted-pop3", this::session);
    }

    int port() {
        return server.getLocalPort();
    }

    void add(String uid, byte[] bytes) {
        mails.add(new Mail(uid, bytes));
    }

    long count(String command) {
        return commands.stream().filter(c -> c.toUpperCase().startsWith(command)).count();
    }

    private void session(Socket socket) {
        sessions.incrementAndGet();
        try (Socket s = socket) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            switch (greeting) {
                case SILENT -> {
                    // say nothing until the client hangs up
                    while (in.read() >= 0) {
                        // swallow
                    }
                    return;
                }
                case CLOSE -> {
                    out.write("+OK hel".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    return;
                }
                case DRIP -> {
                    byte[] g = ("+OK " + "x".repeat(40) + " ready\r\n").getBytes(StandardCharsets.US_ASCII);
                    paced.write(out, g, 1, dripMillis);
                }
                default -> LoopbackServer.writeLine(out, "+OK scripted POP3 ready");
            }
            List<Mail> box = new ArrayList<>(mails);
            Set<Integer> marked = new HashSet<>();
            String l;
            while ((l = LoopbackServer.readLine(in)) != null) {
                commands.add(l);
                String[] w = l.split(" ");
                String cmd = w[0].toUpperCase();
                switch (cmd) {
                    case "CAPA" -> {
                        LoopbackServer.writeLine(out, "+OK");
                        LoopbackServer.writeLine(out, "USER");
                        if (uidl) {
                            LoopbackServer.writeLine(out, "UIDL");
                        }
                        if (pipelining) {
                            LoopbackServer.writeLine(out, "PIPELINING");
                        }
                        LoopbackServer.writeLine(out, ".");
                    }
                    case "USER" -> LoopbackServer.writeLine(out, "+OK");
                    case "PASS" -> LoopbackServer.writeLine(out, passReply == null ? "+OK logged in" : passReply);
                    case "STAT" -> {
                        long total = box.stream().mapToLong(m -> m.bytes().length).sum();
                        LoopbackServer.writeLine(out, "+OK " + box.size() + " " + total);
                    }
                    case "NOOP" -> LoopbackServer.writeLine(out, "+OK");
                    case "UIDL" -> {
                        if (!uidl) {
                            LoopbackServer.writeLine(out, "-ERR unknown command");
                        } else {
                            LoopbackServer.writeLine(out, "+OK");
                            for (int i = 0; i < box.size(); i++) {
                                LoopbackServer.writeLine(out, (i + 1) + " " + box.get(i).uid());
                            }
                            LoopbackServer.writeLine(out, ".");
                        }
                    }
                    case "LIST" -> {
                        if (in.available() > 0) {
                            listsAhead.incrementAndGet();
                        }
                        if (refuseList) {
                            LoopbackServer.writeLine(out, "-ERR [SYS/TEMP] listing failed");
                            continue;
                        }
                        LoopbackServer.writeLine(out, "+OK");
                        for (int i = 0; i < box.size(); i++) {
                            LoopbackServer.writeLine(out, (i + 1) + " " + (i + 1 == understateOf ? 100 : box.get(i).bytes().length));
                        }
                        LoopbackServer.writeLine(out, ".");
                    }
                    case "RETR" -> {
                        int n = Integer.parseInt(w[1]);
                        if (in.available() > 0) {
                            retrsAhead.incrementAndGet();
                        }
                        byte[] body = stuffed(box.get(n - 1).bytes());
                        LoopbackServer.writeLine(out, "+OK " + box.get(n - 1).bytes().length + " octets");
                        if (n == cutRetrOf) {
                            out.write(body, 0, body.length / 2);
                            out.flush();
                            return;
                        }
                        if (n == slowRetrOf) {
                            paced.write(out, body, Math.max(1, slowBytesPerSecond / 10), 100);
                        } else {
                            out.write(body);
                        }
                        LoopbackServer.writeLine(out, ".");
                    }
                    case "DELE" -> {
                        int n = Integer.parseInt(w[1]);
                        if (in.available() > 0) {
                            delesAhead.incrementAndGet();
                        }
                        if (n == refuseDeleOf) {
                            LoopbackServer.writeLine(out, "-ERR message " + n + " is locked");
                        } else {
                            marked.add(n);
                            LoopbackServer.writeLine(out, "+OK");
                        }
                    }
                    case "RSET" -> {
                        marked.clear();
                        LoopbackServer.writeLine(out, "+OK");
                    }
                    case "QUIT" -> {
                        List<Mail> gone = new ArrayList<>();
                        for (int i : marked) {
                            gone.add(box.get(i - 1));
                        }
                        mails.removeAll(gone);
                        LoopbackServer.writeLine(out, "+OK bye");
                        return;
                    }
                    default -> LoopbackServer.writeLine(out, "-ERR unknown command");
                }
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static byte[] stuffed(byte[] raw) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        boolean start = true;
        for (byte x : raw) {
            if (start && x == '.') {
                b.write('.');
            }
            b.write(x);
            start = x == '\n';
        }
        if (!start) {
            b.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        return b.toByteArray();
    }

    @Override
    public void close() throws IOException {
        server.close();
        paced.close();
    }
}
