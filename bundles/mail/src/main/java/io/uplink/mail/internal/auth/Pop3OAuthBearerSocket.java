package io.uplink.mail.internal.auth;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

import io.uplink.mail.internal.net.DelegatingSocket;

/**
 * POP3 {@code AUTH OAUTHBEARER} (RFC 7628 over RFC 5034) under Angus Mail, whose POP3 has neither SASL nor a
 * pluggable authenticator, only a fixed set (USER/PASS, LOGIN, PLAIN, NTLM, XOAUTH2). The outermost socket of a
 * POP3 session until it is signed in, it:
 * <ul>
 * <li>shows Angus the server's {@code SASL} capability with OAUTHBEARER named XOAUTH2 (and a real XOAUTH2
 * left out), so that Angus picks its XOAUTH2 authenticator exactly when the server offers OAUTHBEARER;</li>
 * <li>turns Angus's one {@code AUTH XOAUTH2 <user, token>} line into {@code AUTH OAUTHBEARER <GS2 message>};</li>
 * <li>answers an error challenge ({@code + <base64 JSON>}) with the single {@code ^A} the RFC asks for, keeps its
 * {@code status} in the {@link OAuthBearer.Outcome}, and hands Angus the server's final {@code -ERR} line, so the
 * refusal surfaces at {@code Store.connect} as an {@code AuthenticationFailedException}.</li>
 * </ul>
 * It reads line by line only before the login's answer; after it (or after {@code STLS}, when TLS takes over
 * below a new socket of this kind) it passes bytes through untouched. It never logs.
 */
final class Pop3OAuthBearerSocket extends DelegatingSocket {

    private static final String AUTH_XOAUTH2 = "AUTH XOAUTH2 ";

    private final OAuthBearer.Outcome outcome;
    private boolean armed = true;
    private boolean awaitingAnswer;
    private InputStream in;
    private OutputStream out;

    private Pop3OAuthBearerSocket(Socket delegate, OAuthBearer.Outcome outcome) throws SocketException {
        super(delegate);
        this.outcome = outcome;
    }

    /** The session's plain socket factory, each socket wrapped. */
    static SocketFactory plain(SocketFactory inner, OAuthBearer.Outcome outcome) {
        return new SocketFactory() {
            @Override
            public Socket createSocket() throws IOException {
                return new Pop3OAuthBearerSocket(inner.createSocket(), outcome);
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return new Pop3OAuthBearerSocket(inner.createSocket(host, port), outcome);
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
                return new Pop3OAuthBearerSocket(inner.createSocket(host, port, local, localPort), outcome);
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return new Pop3OAuthBearerSocket(inner.createSocket(host, port), outcome);
            }

            @Override
            public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort)
                    throws IOException {
                return new Pop3OAuthBearerSocket(inner.createSocket(host, port, local, localPort), outcome);
            }
        };
    }

    /**
     * The session's TLS socket factory, each socket wrapped; TLS over a wrapped plain socket goes over what that
     * socket wraps, so this stays the outermost layer and never sees encrypted bytes.
     */
    static SSLSocketFactory tls(SSLSocketFactory inner, OAuthBearer.Outcome outcome) {
        SocketFactory direct = plain(inner, outcome); // TLS from the first byte: the inner factory's own sockets
        return new SSLSocketFactory() {
            @Override
            public String[] getDefaultCipherSuites() {
                return inner.getDefaultCipherSuites();
            }

            @Override
            public String[] getSupportedCipherSuites() {
                return inner.getSupportedCipherSuites();
            }

            @Override
            public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
                Socket under = s instanceof Pop3OAuthBearerSocket w ? w.delegate() : s;
                return new Pop3OAuthBearerSocket(inner.createSocket(under, host, port, autoClose), outcome);
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return direct.createSocket(host, port);
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
                return direct.createSocket(host, port, local, localPort);
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return direct.createSocket(host, port);
            }

            @Override
            public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort)
                    throws IOException {
                return direct.createSocket(host, port, local, localPort);
            }
        };
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new Lines(new BufferedInputStream(delegate.getInputStream()));
        }
        return in;
    }

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new Commands(delegate.getOutputStream());
        }
        return out;
    }

    /** The server's lines as Angus should see them, while armed. */
    private final class Lines extends InputStream {
        private final InputStream raw;
        private byte[] line = new byte[0];
        private int pos;

        Lines(InputStream raw) {
            this.raw = raw;
        }

        private boolean fill() throws IOException {
            while (pos >= line.length) {
                if (!armed) {
                    return false;
                }
                String l = readLine();
                if (l == null) {
                    return false;
                }
                line = answer(l).getBytes(StandardCharsets.ISO_8859_1);
                pos = 0;
            }
            return true;
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(128);
            int c;
            while ((c = raw.read()) >= 0) {
                b.write(c);
                if (c == '\n') {
                    break;
                }
            }
            return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
        }

        private String answer(String l) throws IOException {
            if (awaitingAnswer) {
                if (l.startsWith("+ ") || l.strip().equals("+")) {
                    // the error challenge: answer ^A, the server then fails the login with -ERR
                    outcome.refused(OAuthBearer.errorStatus(Base64.getMimeDecoder().decode(l.substring(1).strip())));
                    OutputStream o = delegate.getOutputStream();
                    o.write((Base64.getEncoder().encodeToString(OAuthBearer.ERROR_ANSWER) + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    o.flush();
                    String last = readLine();
                    l = last == null ? "" : last;
                }
                awaitingAnswer = false;
                armed = false;
                return l;
            }
            if (l.regionMatches(true, 0, "SASL ", 0, 5)) {
                return capability(l);
            }
            return l;
        }

        @Override
        public int read() throws IOException {
            if (pos < line.length || armed) {
                return fill() ? line[pos++] & 0xff : -1;
            }
            return raw.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (pos < line.length || armed) {
                if (!fill()) {
                    return -1;
                }
                int n = Math.min(len, line.length - pos);
                System.arraycopy(line, pos, b, off, n);
                pos += n;
                return n;
            }
            return raw.read(b, off, len);
        }

        @Override
        public int available() throws IOException {
            return pos < line.length ? line.length - pos : armed ? 0 : raw.available();
        }

        @Override
        public void close() throws IOException {
            raw.close();
        }
    }

    /** {@code SASL ... OAUTHBEARER ...} shown as {@code SASL ... XOAUTH2 ...}; a real XOAUTH2 left out. */
    static String capability(String line) {
        String eol = line.endsWith("\r\n") ? "\r\n" : line.endsWith("\n") ? "\n" : "";
        List<String> shown = new ArrayList<>();
        for (String m : line.substring(5).strip().split("\\s+")) {
            if (m.equalsIgnoreCase(OAuthBearer.MECHANISM)) {
                shown.add("XOAUTH2");
            } else if (!m.equalsIgnoreCase("XOAUTH2") && !m.isEmpty()) {
                shown.add(m);
            }
        }
        return line.substring(0, 5) + String.join(" ", shown) + eol;
    }

    /** Angus's commands, the XOAUTH2 login rewritten, while armed. */
    private final class Commands extends FilterOutputStream {
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream(256);

        Commands(OutputStream raw) {
            super(raw);
        }

        @Override
        public void write(int b) throws IOException {
            if (!armed) {
                out.write(b);
                return;
            }
            pending.write(b);
            if (b == '\n') {
                String l = pending.toString(StandardCharsets.ISO_8859_1);
                pending.reset();
                out.write(command(l).getBytes(StandardCharsets.ISO_8859_1));
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (!armed && pending.size() == 0) {
                out.write(b, off, len);
                return;
            }
            for (int i = 0; i < len; i++) {
                write(b[off + i]);
            }
        }

        @Override
        public void flush() throws IOException {
            if (pending.size() > 0) {
                // a partial line flushed on its own is no login: it goes out as it is
                pending.writeTo(out);
                pending.reset();
            }
            out.flush();
        }

        private String command(String l) throws IOException {
            if (l.regionMatches(true, 0, AUTH_XOAUTH2, 0, AUTH_XOAUTH2.length())) {
                awaitingAnswer = true;
                return "AUTH " + OAuthBearer.MECHANISM + " " + Base64.getEncoder().encodeToString(
                        fromXoauth2(l.substring(AUTH_XOAUTH2.length()).strip())) + "\r\n";
            }
            if (l.strip().equalsIgnoreCase("STLS")) {
                armed = false; // TLS follows on a new socket of this kind; this one must not read encrypted lines
            }
            return l;
        }
    }

    /** Angus's XOAUTH2 response ({@code user=U ^A auth=Bearer T ^A ^A}) as the OAUTHBEARER message. */
    private static byte[] fromXoauth2(String b64) throws IOException {
        String s = new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
        String[] parts = s.split("\u0001");
        if (parts.length < 2 || !parts[0].startsWith("user=") || !parts[1].startsWith("auth=Bearer ")) {
            throw new IOException("OAUTHBEARER: unexpected XOAUTH2 response from the mail library");
        }
        return OAuthBearer.message(parts[0].substring(5), parts[1].substring("auth=Bearer ".length()));
    }
}
