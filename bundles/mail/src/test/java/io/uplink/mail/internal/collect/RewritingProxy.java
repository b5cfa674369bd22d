package io.uplink.mail.internal.collect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

import io.uplink.mail.internal.LoopbackServer;

/**
 * Forwards a mail protocol to a real server (GreenMail) and rewrites the server's lines on the way, to
 * play a server that differs in one respect: no UIDPLUS, a changed UIDVALIDITY.
 */
final class RewritingProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private volatile UnaryOperator<String> rewrite;

    RewritingProxy(int target, UnaryOperator<String> rewrite) throws IOException {
        this.target = target;
        this.rewrite = rewrite;
        this.server = LoopbackServer.start("rewriting-proxy", this::session);
    }

    int port() {
        return server.getLocalPort();
    }

    void rewrite(UnaryOperator<String> r) {
        rewrite = r;
    }

    private void session(Socket client) {
        try (Socket c = client; Socket up = new Socket(InetAddress.getLoopbackAddress(), target)) {
            Thread toServer = new Thread(() -> {
                try {
                    c.getInputStream().transferTo(up.getOutputStream());
                } catch (IOException e) {
                    // one side went away
                } finally {
                    close(c, up);
                }
            }, "rewriting-proxy-up");
            toServer.setDaemon(true);
            toServer.start();
            lines(up.getInputStream(), c.getOutputStream());
        } catch (IOException e) {
            // one side went away
        }
    }

    /** Copies line by line, rewriting each; a long run without a line end goes through as it is. */
    private void lines(InputStream in, OutputStream out) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') {
                out.write(rewrite.apply(line.toString(StandardCharsets.ISO_8859_1)).getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                line.reset();
            } else if (line.size() >= 8192) {
                out.write(line.toByteArray());
                line.reset();
            }
        }
    }

    private static void close(Socket a, Socket b) {
        try {
            a.close();
            b.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
