package io.uplink.method.dialup.internal;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * The Hayes AT dialogue over a {@link SerialLine}: commands with their final result codes, dialling with a
 * connect timeout, and the escape-and-hang-up sequence. Deadlines run on the {@link Clockwork}.
 */
final class Hayes {

    /** A final result code, as a modem in verbose mode ({@code V1}) sends it. */
    enum Result {
        OK, CONNECT, BUSY, NO_CARRIER, NO_DIALTONE, NO_ANSWER, ERROR, DELAYED, BLACKLISTED, TIMEOUT;

        static Result of(String line) {
            String l = line.trim().toUpperCase(Locale.ROOT);
            if (l.equals("OK")) {
                return OK;
            }
            if (l.equals("CONNECT") || l.startsWith("CONNECT ") || l.startsWith("CONNECT/")) {
                return CONNECT;
            }
            switch (l) {
                case "BUSY": return BUSY;
                case "NO CARRIER": return NO_CARRIER;
                case "NO DIALTONE": case "NO DIAL TONE": return NO_DIALTONE;
                case "NO ANSWER": return NO_ANSWER;
                case "ERROR": return ERROR;
                case "DELAYED": return DELAYED;
                case "BLACKLISTED": return BLACKLISTED;
                default: return null;
            }
        }

        /** How the user reads it: {@code NO CARRIER}. */
        String text() {
            return this == TIMEOUT ? "no answer from the modem" : name().replace('_', ' ');
        }
    }

    /** What a command or a dial ended with, and the modem's own line (such as {@code CONNECT 33600}). */
    record Reply(Result result, String line) {
        String text() {
            return result == Result.TIMEOUT || line == null ? result.text() : line;
        }
    }

    /**
     * The longest line kept while waiting for its end. Result codes and information lines are short; more
     * without a CR or LF is a wrong speed, line noise or no modem at all, and is an error, not a growing buffer.
     */
    static final int MAX_LINE = 512;

    private final SerialLine line;
    private final Clockwork clock;
    private final byte[] buffer = new byte[256];
    private final StringBuilder pending = new StringBuilder();

    Hayes(SerialLine line, Clockwork clock) {
        this.line = line;
        this.clock = clock;
    }

    /** Sends a command and waits for its final result; echo and information lines are skipped. */
    Reply command(String command, Duration timeout) throws IOException, InterruptedException {
        discardInput();
        line.write(command + "\r");
        return awaitResult(command, clock.now().plus(timeout));
    }

    /**
     * Dials and waits for the outcome. Silence past the timeout aborts the dial by sending a character, as
     * modems expect, and waits briefly for the modem to confirm.
     */
    Reply dial(String dialCommand, Duration connectTimeout, Duration commandTimeout)
            throws IOException, InterruptedException {
        Reply r = command(dialCommand, connectTimeout);
        if (r.result() == Result.TIMEOUT) {
            line.write("\r");
            awaitResult(null, clock.now().plus(commandTimeout));
        }
        return r;
    }

    /**
     * Hangs up: when the modem is online, the escape sequence {@code +++} with its guard times first (the modem
     * answers OK in command mode), then {@code ATH0}.
     */
    Reply hangup(boolean online, Duration guard, Duration commandTimeout) throws IOException, InterruptedException {
        if (online) {
            clock.sleep(guard);
            line.write("+++");
            clock.sleep(guard);
            awaitResult(null, clock.now().plus(commandTimeout));
        }
        return command("ATH0", commandTimeout);
    }

    /**
     * Reads one line that is not empty.
     *
     * @return the line, or {@code null} when the deadline passed first
     * @throws IOException also when more than {@link #MAX_LINE} characters come without a line end
     */
    String readLine(Instant deadline) throws IOException, InterruptedException {
        while (true) {
            String l = takeLine();
            if (l != null) {
                return l;
            }
            if (pending.length() > MAX_LINE) {
                pending.setLength(0);
                throw new IOException("the modem on " + line.path() + " sent more than " + MAX_LINE
                        + " characters without a line end (wrong speed, line noise, or not a modem?)");
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            if (deadline != null && !clock.now().isBefore(deadline)) {
                return null;
            }
            int n = line.read(buffer);
            for (int i = 0; i < n; i++) {
                pending.append((char) (buffer[i] & 0x7f));
            }
        }
    }

    private Reply awaitResult(String echo, Instant deadline) throws IOException, InterruptedException {
        while (true) {
            String l = readLine(deadline);
            if (l == null) {
                return new Reply(Result.TIMEOUT, null);
            }
            if (echo != null && l.equalsIgnoreCase(echo)) {
                continue;
            }
            Result r = Result.of(l);
            if (r != null) {
                return new Reply(r, l);
            }
            // RING, DIALING and the like carry no result
        }
    }

    private String takeLine() {
        while (true) {
            int end = -1;
            for (int i = 0; i < pending.length(); i++) {
                char c = pending.charAt(i);
                if (c == '\r' || c == '\n') {
                    end = i;
                    break;
                }
            }
            if (end < 0) {
                return null;
            }
            String l = pending.substring(0, end).trim();
            pending.delete(0, end + 1);
            if (!l.isEmpty()) {
                return l;
            }
        }
    }

    private void discardInput() throws IOException {
        pending.setLength(0);
    }
}
