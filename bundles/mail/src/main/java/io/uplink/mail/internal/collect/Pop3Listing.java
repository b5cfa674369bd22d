package io.uplink.mail.internal.collect;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.reflect.Field;

import org.eclipse.angus.mail.pop3.POP3Folder;

import jakarta.mail.MessagingException;

/**
 * Reads a POP3 server's whole list (LIST, then UIDL) off the connection Angus opened, one line at a time
 * into one reused buffer, and hands each message's number, UID and size to the caller. When the server offers
 * PIPELINING (RFC 2449) both commands go out in one write and the two answers are read in order: one wait for
 * the server less per session.
 *
 * <p>Why not Angus's API: for the list it buffers the whole response, makes a String and a tokenizer per
 * line and a message object per message: about 50 MiB of garbage for a mailbox of 100,000 messages left on
 * the server, of which 10 are new (BENCHMARKS.md, "Big mailboxes"). Angus has no public way to send a
 * command, so the connection's reader and writer are reached by reflection and used under the protocol
 * object's lock, as Angus's own commands are. With another Angus that lacks those fields, {@link #read}
 * answers false and the caller lists through Angus's API.
 */
final class Pop3Listing {

    /** One listed message; {@code uid} is only valid during the call. */
    @FunctionalInterface
    interface Line {
        void message(int number, CharSequence uid, long size) throws MessagingException, IOException;
    }

    private static final Field PORT;
    private static final Field INPUT;
    private static final Field OUTPUT;
    /** The byte stream under {@link #INPUT}; read directly when the reader holds nothing (null: never). */
    private static final Field BYTES;

    static {
        Field port = null;
        Field input = null;
        Field output = null;
        Field bytes = null;
        try {
            port = POP3Folder.class.getDeclaredField("port");
            Class<?> protocol = port.getType();
            input = protocol.getDeclaredField("input");
            output = protocol.getDeclaredField("output");
            if (input.getType() != BufferedReader.class || output.getType() != PrintWriter.class) {
                throw new NoSuchFieldException("another Angus");
            }
            port.setAccessible(true);
            input.setAccessible(true);
            output.setAccessible(true);
            try {
                bytes = protocol.getDeclaredField("traceInput");
                if (!InputStream.class.isAssignableFrom(bytes.getType())) {
                    bytes = null;
                } else {
                    bytes.setAccessible(true);
                }
            } catch (ReflectiveOperationException | RuntimeException e) {
                bytes = null;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            port = null;
        }
        PORT = port;
        INPUT = input;
        OUTPUT = output;
        BYTES = bytes;
    }

    private Pop3Listing() {
    }

    /**
     * Lists the open folder's {@code count} messages; false when this Angus cannot be read this way.
     * {@code pipelined}: the server offers PIPELINING, so UIDL is sent right behind LIST.
     */
    static boolean read(POP3Folder folder, int count, boolean pipelined, Line each)
            throws MessagingException, IOException {
        if (PORT == null) {
            return false;
        }
        Object protocol;
        BufferedReader reader;
        InputStream stream;
        PrintWriter out;
        try {
            protocol = PORT.get(folder);
            if (protocol == null) {
                return false;
            }
            reader = (BufferedReader) INPUT.get(protocol);
            stream = BYTES == null ? null : (InputStream) BYTES.get(protocol);
            out = (PrintWriter) OUTPUT.get(protocol);
        } catch (IllegalAccessException e) {
            return false;
        }
        if (reader == null || out == null) {
            return false;
        }
        // a size past 2 GiB is kept as unknown (-1)
        int[] sizes = new int[count + 1];
        StringBuilder line = new StringBuilder(128);
        synchronized (protocol) {
            // POP3 answers only what was asked: with nothing left in the reader, the bytes below it are ours
            // until the end of our answers, read in large blocks without a decoder (which allocates per read)
            Lines in = stream != null && !reader.ready() ? new Bytes(stream) : reader::read;
            send(out, pipelined ? "LIST\r\nUIDL\r\n" : "LIST\r\n");
            read(in, line);
            if (!line.toString().startsWith("+OK")) {
                String refusal = line.toString();
                if (pipelined) {
                    // the UIDL answer is on its way behind the refusal: read it, so the session stays in step
                    skipAnswer(in, line);
                }
                throw new MessagingException("the server refused LIST: " + refusal);
            }
            while (next(in, line)) {
                int space = line.indexOf(" ");
                int n = space > 0 ? message(number(line, 0, space), count) : -1;
                int end = line.indexOf(" ", space + 1);
                if (n >= 1 && n <= count) {
                    long size = number(line, space + 1, end < 0 ? line.length() : end);
                    sizes[n] = size > Integer.MAX_VALUE ? -1 : (int) size;
                }
            }
            if (!pipelined) {
                send(out, "UIDL\r\n");
            }
            read(in, line);
            if (!line.toString().startsWith("+OK")) {
                throw new MessagingException("the server does not support UIDL, so collected messages cannot be "
                        + "told apart from new ones; collecting from it is not safe");
            }
            while (next(in, line)) {
                int space = line.indexOf(" ");
                int n = space > 0 ? message(number(line, 0, space), count) : -1;
                if (n >= 1 && n <= count && space + 1 < line.length()) {
                    line.delete(0, space + 1);
                    each.message(n, line, sizes[n] > 0 ? sizes[n] : -1);
                }
            }
        }
        return true;
    }

    /** Where the answer's characters come from. */
    @FunctionalInterface
    private interface Lines {
        int read() throws IOException;
    }

    /** A byte stream read in blocks; ISO-8859-1, as Angus reads POP3. */
    private static final class Bytes implements Lines {
        private final InputStream in;
        private final byte[] buf = new byte[64 * 1024];
        private int pos;
        private int lim;

        Bytes(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            if (pos == lim) {
                lim = in.read(buf, 0, buf.length);
                pos = 0;
                if (lim <= 0) {
                    lim = 0;
                    return -1;
                }
            }
            return buf[pos++] & 0xff;
        }
    }

    private static void send(PrintWriter out, String commands) {
        out.print(commands);
        out.flush();
    }

    /** Reads one answer whose status line has not been read yet: the status, and its lines when it is +OK. */
    private static void skipAnswer(Lines in, StringBuilder line) throws IOException {
        read(in, line);
        if (line.toString().startsWith("+OK")) {
            while (next(in, line)) {
                // not ours to keep
            }
        }
    }

    /** The next line of a multi-line answer, unstuffed; false at its end. */
    private static boolean next(Lines in, StringBuilder line) throws IOException {
        read(in, line);
        if (line.length() > 0 && line.charAt(0) == '.') {
            if (line.length() == 1) {
                return false;
            }
            line.deleteCharAt(0);
        }
        return true;
    }

    private static void read(Lines in, StringBuilder line) throws IOException {
        line.setLength(0);
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("the server closed the connection in the middle of the list");
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
    }

    /** A message number of this list, or -1. */
    private static int message(long n, int count) {
        return n >= 1 && n <= count ? (int) n : -1;
    }

    private static long number(CharSequence s, int from, int to) {
        if (from >= to || to - from > 18) {
            return -1;
        }
        long v = 0;
        for (int k = from; k < to; k++) {
            int d = s.charAt(k) - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }
}
