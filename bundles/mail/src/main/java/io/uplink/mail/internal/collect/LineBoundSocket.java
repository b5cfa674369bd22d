package io.uplink.mail.internal.collect;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;

import io.uplink.mail.internal.net.DelegatingSocket;
import io.uplink.mail.internal.net.SessionDeadline;

/**
 * A socket whose input stream fails with {@link LineTooLongException} once a line grows past a limit.
 * Jakarta Mail reads a server's reply lines into memory without a bound; this bounds them, so a server
 * that sends an endless line costs a clear error instead of the heap. It is the outermost socket (above
 * TLS), so it also hands the server's lines to the session while it logs in (to quote a refusal exactly).
 */
final class LineBoundSocket extends DelegatingSocket {

    private final long limit;
    private final SessionDeadline deadline;
    private InputStream in;

    LineBoundSocket(Socket delegate, long limit, SessionDeadline deadline) throws SocketException {
        super(delegate);
        this.limit = limit;
        this.deadline = deadline;
    }

    @Override
    public synchronized InputStream getInputStream() throws IOException {
        if (in == null) {
            in = new Bounded(delegate.getInputStream(), limit, deadline);
        }
        return in;
    }

    /** Counts bytes since the last line feed. */
    static final class Bounded extends FilterInputStream {
        private static final int KEEP = 512;
        private final long limit;
        private final SessionDeadline deadline;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private long run;

        Bounded(InputStream in, long limit, SessionDeadline deadline) {
            super(in);
            this.limit = limit;
            this.deadline = deadline;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(b, deadline != null && deadline.loggingIn());
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            if (deadline != null && deadline.loggingIn()) {
                for (int i = 0; i < n; i++) {
                    count(buf[off + i], true);
                }
                return n;
            }
            // the messages' bytes: only the line lengths are counted, in one tight loop (a call per byte was a
            // fifth of the collector threads' Java samples in the many-mailboxes benchmark)
            long r = run;
            boolean ended = false;
            for (int i = off, end = off + Math.max(n, 0); i < end; i++) {
                if (buf[i] == '\n') {
                    r = 0;
                    ended = true;
                } else if (++r > limit) {
                    run = r;
                    throw new LineTooLongException(limit);
                }
            }
            run = r;
            if (ended && line.size() > 0) {
                line.reset();
            }
            return n;
        }

        private void count(int b, boolean keep) throws LineTooLongException {
            if (keep && line.size() < KEEP && b != '\n' && b != '\r') {
                line.write(b);
            }
            if (b == '\n') {
                run = 0;
                if (keep) {
                    deadline.serverLine(line.toString(StandardCharsets.UTF_8));
                }
                line.reset();
            } else if (++run > limit) {
                throw new LineTooLongException(limit);
            }
        }
    }
}
