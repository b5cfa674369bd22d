package io.uplink.mail.internal.collect;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * POP3 {@code RETR} pipelined (RFC 2449 {@code PIPELINING}) on the connection Angus Mail opened and logged
 * in: the {@code RETR} commands of the next messages go out while earlier answers are still being read, so
 * the collector does not wait one round trip per message. Angus pipelines only {@code USER}/{@code PASS}
 * and a {@code LIST}+{@code RETR} pair of one message, never the {@code RETR}s of several, so this small
 * loop does that one thing and nothing else (see docs/architecture.md).
 *
 * <p>It reads and writes the session's own socket ({@link LineBoundSocket} over {@link
 * io.uplink.mail.internal.net.DeadlineSocket}), so the line bound and the session's deadlines hold as for
 * every other exchange. Angus's buffered reader is empty when this starts: a POP3 server says nothing
 * unasked, and Angus has read the whole answer to its last command. Before anything else is sent
 * ({@code DELE}, {@code QUIT}), {@link #drain()} reads the answers still outstanding. The deletions are
 * pipelined the same way ({@link #delete}); Angus then sends {@code QUIT}.
 */
final class Pop3Pipeline {

    /** At most this many commands out without their answer read. */
    private static final int MAX_AHEAD = 32;
    /** And at most about this many bytes of answers (one message at least, whatever its size). */
    private static final long MAX_AHEAD_BYTES = 512 * 1024;

    private final InputStream in;
    private final OutputStream out;
    private final int[] numbers;
    private final long[] sizes;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int end;
    /** Commands sent, answers read (indexes into {@link #numbers}). */
    private int sent;
    private int read;
    private long aheadBytes;
    private final StringBuilder commands = new StringBuilder();

    /**
     * @param socket  the session's outermost socket, as Angus uses it
     * @param numbers the message numbers to retrieve, in the order they will be asked for
     * @param sizes   their sizes as listed (negative: unknown)
     */
    Pop3Pipeline(Socket socket, int[] numbers, long[] sizes) throws IOException {
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.numbers = numbers;
        this.sizes = sizes;
    }

    /**
     * Streams the next message, which must be message {@code number}, into {@code to}: its lines exactly as
     * the server stores them (the transfer's dot-stuffing removed). Sends the following {@code RETR}s first.
     *
     * @throws IOException also when the server refuses the message ({@code -ERR}): the session is then left
     *                     in an unknown state and nothing more may be asked of it
     */
    void retrieve(int number, OutputStream to) throws IOException {
        if (read >= numbers.length || numbers[read] != number) {
            throw new IllegalStateException("message " + number + " asked for out of order");
        }
        send();
        String status = line();
        aheadBytes -= Math.max(0, sizes[read]);
        read++;
        if (!status.startsWith("+OK")) {
            throw new IOException("the server refused to send message " + number + ": " + printable(status));
        }
        body(to);
    }

    /** About how many bytes of answers are still to be read. */
    long outstandingBytes() {
        return Math.max(0, aheadBytes) + 64L * (sent - read);
    }

    /** Reads and drops the answers to the commands already sent, so the session can go on in lock-step. */
    void drain() throws IOException {
        OutputStream nowhere = OutputStream.nullOutputStream();
        while (read < sent) {
            String status = line();
            aheadBytes -= Math.max(0, sizes[read]);
            read++;
            if (status.startsWith("+OK")) {
                body(nowhere);
            }
        }
    }

    /**
     * Sends {@code DELE} for each of {@code numbers}, up to {@link #MAX_AHEAD} ahead of their answers, and reads
     * every answer (call after {@link #drain()}). Angus sends its DELEs one at a time, each waiting for its
     * answer, at {@code close(true)}. The deletions take effect at {@code QUIT}, which Angus sends.
     *
     * @return for each of {@code numbers}, the server's refusal ({@code -ERR ...}, made printable), or null
     *         where it accepted
     */
    String[] delete(int[] numbers) throws IOException {
        String[] refused = new String[numbers.length];
        int asked = 0;
        for (int answered = 0; answered < numbers.length; answered++) {
            commands.setLength(0);
            while (asked < numbers.length && asked - answered < MAX_AHEAD) {
                commands.append("DELE ").append(numbers[asked++]).append("\r\n");
            }
            if (commands.length() > 0) {
                out.write(commands.toString().getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            String status = line();
            if (!status.startsWith("+OK")) {
                refused[answered] = printable(status);
            }
        }
        return refused;
    }

    /** Sends RETR for the next messages while the window allows, at least the one to be read next. */
    private void send() throws IOException {
        commands.setLength(0);
        while (sent < numbers.length && (sent == read
                || sent - read < MAX_AHEAD && aheadBytes + Math.max(0, sizes[sent]) <= MAX_AHEAD_BYTES)) {
            commands.append("RETR ").append(numbers[sent]).append("\r\n");
            aheadBytes += Math.max(0, sizes[sent]);
            sent++;
        }
        if (commands.length() > 0) {
            out.write(commands.toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
    }

    /** One reply line, without its line end. (The socket bounds its length.) */
    private String line() throws IOException {
        StringBuilder b = new StringBuilder(32);
        while (true) {
            if (pos == end) {
                fill();
            }
            int i = pos;
            while (i < end && buf[i] != '\n') {
                i++;
            }
            b.append(new String(buf, pos, i - pos, StandardCharsets.ISO_8859_1));
            if (i < end) {
                pos = i + 1;
                int n = b.length();
                if (n > 0 && b.charAt(n - 1) == '\r') {
                    b.setLength(n - 1);
                }
                return b.toString();
            }
            pos = end;
        }
    }

    /**
     * Copies a multi-line answer up to its terminating {@code .CRLF}, removing the leading dot a line
     * starting with one was given (RFC 1939 3), in runs between such lines rather than byte by byte.
     */
    private void body(OutputStream to) throws IOException {
        boolean lineStart = true;
        while (true) {
            if (pos == end) {
                fill();
            }
            if (lineStart && buf[pos] == '.') {
                pos++;
                if (peek() == '\r') {
                    pos++;
                    if (peek() == '\n') {
                        pos++;
                    }
                    return;
                }
                // a stuffed dot: the line goes on without it
            }
            int i = pos;
            lineStart = false;
            while (i < end) {
                if (buf[i++] == '\n' && (i == end || buf[i] == '.')) {
                    lineStart = true;
                    break;
                }
            }
            to.write(buf, pos, i - pos);
            pos = i;
        }
    }

    private int peek() throws IOException {
        if (pos == end) {
            fill();
        }
        return buf[pos];
    }

    private void fill() throws IOException {
        int n = in.read(buf, 0, buf.length);
        if (n < 0) {
            throw new EOFException("the server closed the connection in the middle of a message");
        }
        pos = 0;
        end = n;
    }

    private static String printable(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
