package io.uplink.mail.internal.send;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import io.uplink.mail.internal.LoopbackServer;
import io.uplink.mail.internal.PacedWriter;

/**
 * A small SMTP server on a real socket for the faults GreenMail cannot do: STARTTLS, SIZE and 8BITMIME,
 * scripted replies per recipient and per DATA, a connection closed in the middle of DATA, an endless reply
 * line. TLS uses GreenMail's own self-signed key (its {@code greenmail.p12}).
 */
final class ScriptedSmtpServer implements AutoCloseable {

    /** One received transaction. */
    record Received(String mailFrom, List<String> rcptTo, byte[] data) {
    }

    final List<Received> received = new CopyOnWriteArrayList<>();
    final List<String> commands = new CopyOnWriteArrayList<>();
    final AtomicInteger sessions = new AtomicInteger();
    final AtomicInteger dataCount = new AtomicInteger();

    volatile boolean startTls;
    volatile long sizeLimit = -1;
    volatile boolean eightBitMime = true;
    volatile String greeting = "220 scripted ESMTP";
    /** Reply to a RCPT TO address. */
    volatile Function<String, String> rcptReply = a -> "250 2.1.5 ok";
    /** Reply after the data of the n-th DATA (1-based). */
    volatile Function<Integer, String> dataReply = n -> "250 2.0.0 queued";
    /** Close the connection after this many bytes of the n-th DATA (1-based); -1 never. */
    volatile Function<Integer, Integer> closeDuringData = n -> -1;
    /** Send an endless line instead of the greeting. */
    volatile boolean endlessGreeting;
    /** Reply to AUTH PLAIN. */
    volatile String authReply = "235 2.7.0 ok";
    /** Send the greeting one byte per this many milliseconds; 0 at once. */
    volatile long dripGreetingMillis;
    /** Send the reply after DATA one byte per this many milliseconds; 0 at once. */
    volatile long dripDataReplyMillis;

    private final PacedWriter paced = new PacedWriter();
    /** Bytes of the endless line written so far (what the client's socket took). */
    final java.util.concurrent.atomic.AtomicLong endlessSent = new java.util.concurrent.atomic.AtomicLong();
    /** Counted down when a write of the endless line failed because the client closed the connection. */
    final java.util.concurrent.CountDownLatch endlessCut = new java.util.concurrent.CountDownLatch(1);

    private final ServerSocket server;
    private final SSLContext tls;

    ScriptedSmtpServer() throws Exception {
        tls = greenMailTls();
        server = LoopbackServer.start("scripted-smtp", this::session);
    }

    int port() {
        return server.getLocalPort();
    }

    static SSLContext greenMailTls() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = ScriptedSmtpServer.class.getClassLoader().getResourceAsStream("greenmail.p12")) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kmf.getKeyManagers(), null, null);
        return c;
    }

    private void session(Socket socket) {
        sessions.incrementAndGet();
        try (Socket s0 = socket) {
            Socket s = s0;
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            if (endlessGreeting) {
                byte[] chunk = new byte[8192];
                java.util.Arrays.fill(chunk, (byte) 'x');
                try {
                    out.write("220-".getBytes(StandardCharsets.US_ASCII));
                    while (true) {
                        out.write(chunk);
                        endlessSent.addAndGet(chunk.length);
                    }
                } finally {
                    // only a failed write ends the loop: the client closed the connection
                    endlessCut.countDown();
                }
            }
            if (dripGreetingMillis > 0) {
                paced.write(out, (greeting + "\r\n").getBytes(StandardCharsets.UTF_8), 1, dripGreetingMillis);
            } else {
                LoopbackServer.writeLine(out, greeting);
            }
            if (!greeting.startsWith("220")) {
                return;
            }
            String from = null;
            List<String> rcpts = new ArrayList<>();
            while (true) {
                String line = LoopbackServer.readLine(in);
                if (line == null) {
                    return;
                }
                commands.add(line);
                String upper = line.toUpperCase();
                if (upper.startsWith("EHLO")) {
                    List<String> caps = new ArrayList<>();
                    caps.add("scripted");
                    if (startTls && !(s instanceof SSLSocket)) {
                        caps.add("STARTTLS");
                    }
                    if (sizeLimit >= 0) {
                        caps.add("SIZE " + sizeLimit);
                    }
                    if (eightBitMime) {
                        caps.add("8BITMIME");
                    }
                    caps.add("AUTH PLAIN");
                    for (int i = 0; i < caps.size(); i++) {
                        LoopbackServer.writeLine(out, "250" + (i == caps.size() - 1 ? " " : "-") + caps.get(i));
                    }
                } else if (upper.startsWith("HELO")) {
                    LoopbackServer.writeLine(out, "250 scripted");
                } else if (upper.startsWith("STARTTLS")) {
                    LoopbackServer.writeLine(out, "220 2.0.0 go ahead");
                    SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s, null, s.getPort(), true);
                    ssl.setUseClientMode(false);
                    ssl.startHandshake();
                    s = ssl;
                    in = ssl.getInputStream();
                    out = ssl.getOutputStream();
                } else if (upper.startsWith("AUTH PLAIN")) {
                    LoopbackServer.writeLine(out, authReply);
                } else if (upper.startsWith("MAIL FROM:")) {
                    from = line.substring(10).trim();
                    rcpts.clear();
                    LoopbackServer.writeLine(out, "250 2.1.0 ok");
                } else if (upper.startsWith("RCPT TO:")) {
                    String a = line.substring(8).trim();
                    a = a.replaceAll("^<|>.*$", "");
                    String r = rcptReply.apply(a);
                    if (r.startsWith("2")) {
                        rcpts.add(a);
                    }
                    LoopbackServer.writeLine(out, r);
                } else if (upper.equals("DATA")) {
                    int n = dataCount.incrementAndGet();
                    LoopbackServer.writeLine(out, "354 go ahead");
                    int closeAt = closeDuringData.apply(n);
                    byte[] data = readData(in, closeAt);
                    if (data == null) {
                        return; // closed in the middle of DATA
                    }
                    String r = dataReply.apply(n);
                    if (r.startsWith("2")) {
                        received.add(new Received(from, List.copyOf(rcpts), data));
                    }
                    if (dripDataReplyMillis > 0) {
                        paced.write(out, (r + "\r\n").getBytes(StandardCharsets.UTF_8), 1, dripDataReplyMillis);
                    } else {
                        LoopbackServer.writeLine(out, r);
                    }
                } else if (upper.startsWith("RSET")) {
                    from = null;
                    rcpts.clear();
                    LoopbackServer.writeLine(out, "250 2.0.0 ok");
                } else if (upper.startsWith("NOOP")) {
                    LoopbackServer.writeLine(out, "250 2.0.0 ok");
                } else if (upper.startsWith("QUIT")) {
                    LoopbackServer.writeLine(out, "221 2.0.0 bye");
                    return;
                } else {
                    LoopbackServer.writeLine(out, "502 5.5.2 not implemented");
                }
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    /** Reads DATA up to the lone dot, undoing dot-stuffing; null when closing at {@code closeAt} bytes. */
    private static byte[] readData(InputStream in, int closeAt) throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int total = 0;
        int c;
        while ((c = in.read()) >= 0) {
            total++;
            if (closeAt >= 0 && total >= closeAt) {
                return null;
            }
            line.write(c);
            if (c == '\n') {
                byte[] l = line.toByteArray();
                line.reset();
                if (l.length == 3 && l[0] == '.' && l[1] == '\r') {
                    return data.toByteArray();
                }
                if (l.length > 0 && l[0] == '.') {
                    data.write(l, 1, l.length - 1);
                } else {
                    data.write(l);
                }
            }
        }
        throw new IOException("client closed during DATA");
    }

    List<String> mailFroms() {
        List<String> out = new ArrayList<>();
        for (String c : commands) {
            if (c.toUpperCase().startsWith("MAIL FROM:")) {
                out.add(c);
            }
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public void close() throws IOException {
        server.close();
        paced.close();
    }
}
