package io.uplink.mail.internal.net;

import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import io.uplink.api.mail.TaskContext;

/**
 * The deadlines of one mail session (one SMTP or POP3/IMAP conversation with a server), so that a server
 * that answers slowly, byte by byte, cannot hold a firing for longer than its settings allow. A per-read
 * timeout alone cannot do that: a byte every few seconds resets it each time.
 *
 * <ul>
 *   <li>connect and greeting together: {@code timeout};</li>
 *   <li>logging in (everything the client sends until the session says {@link #command}): {@code timeout};</li>
 *   <li>each command: {@code timeout}; a transfer of N bytes: {@code timeout} + N / {@code minRate};</li>
 *   <li>all of it: the firing's own deadline ({@code firing.timeout} of the connection).</li>
 * </ul>
 *
 * {@link DeadlineSocket} enforces them on every read and write. Jakarta Mail rewraps socket errors (a POP3
 * read timeout becomes "EOF on socket" in an {@code AuthenticationFailedException}), so this object also
 * keeps what really happened ({@link #failure()}) and the server's refusal while logging in
 * ({@link #refusal()}), for the session's error message.
 */
public final class SessionDeadline {

    /** The default {@code minRate}: 1 KiB/s. */
    public static final long DEFAULT_MIN_RATE = 1024;
    /** An IMAP refusal while logging in ({@code a1 NO ...}, {@code a1 BAD ...}). */
    private static final Pattern TAGGED_REFUSAL = Pattern.compile("\\S+ (NO|BAD)( .*)?\\s*");

    private final Duration timeout;
    private final long minRate;
    private final boolean hasFiringEnd;
    private final long firingEnd;
    private final String firingText;

    private volatile String server = "the server";
    private volatile long phaseEnd;
    private volatile String doing = "connecting";
    /** What to say when the phase's deadline passes, worked out only then (a transfer per message is frequent). */
    private volatile Supplier<String> expired;
    private volatile boolean greeted = true;
    private volatile boolean handshaking;
    private volatile boolean loggingIn;
    private volatile boolean closing;
    /** In a {@link #waiting} phase: read timeouts are expected there, not the session's failure. */
    private volatile boolean waiting;
    private volatile String failure;
    private volatile String refusal;
    /** The deadline text that bounded the last read, or null when the per-read timeout did. */
    private Supplier<String> lastBound;

    public SessionDeadline(Duration timeout, long minRate, TaskContext context) {
        this.timeout = timeout;
        this.minRate = minRate;
        Duration left = context.timeLeft().orElse(null);
        long now = System.nanoTime();
        this.hasFiringEnd = left != null;
        this.firingEnd = left == null ? 0 : now + Math.min(left.toNanos(), Long.MAX_VALUE / 4);
        this.firingText = "the firing ran out of time (key 'firing.timeout' of connection '" + context.connectionId()
                + "'); the rest waits for the next firing";
        phase(timeout, "connecting", "no answer from the server within " + human(timeout) + " (key 'timeout')");
    }

    /** A new connection to {@code server} ({@code host:port}); the greeting is due within {@code timeout}. */
    public void connecting(String server) {
        this.server = server;
        greeted = false;
        loggingIn = false;
        closing = false;
        failure = null;
        refusal = null;
        phase(timeout, "waiting for the greeting", "no greeting from " + server + " within " + human(timeout));
    }

    /** The session is logged in; from now on each exchange gets {@code timeout}. */
    public void command(String what) {
        loggingIn = false;
        phase(timeout, what, "no answer from " + server + " within " + human(timeout) + " while " + what
                + " (key 'timeout')");
    }

    /** A transfer of {@code bytes}: {@code timeout} plus the time the bytes take at {@code minRate}. */
    public void transfer(String what, long bytes) {
        loggingIn = false;
        long ms = timeout.toMillis() + Math.max(0, bytes) * 1000 / minRate;
        Duration d = Duration.ofMillis(Math.min(ms, Long.MAX_VALUE / 4_000_000));
        String at = server;
        phase(d, what, () -> what + " (" + Math.max(0, bytes) + " bytes) with " + at + " ran past its deadline of "
                + human(d) + " ('timeout' " + human(timeout) + " plus the size at 'minRate' " + ByteSizes.rate(minRate) + ")");
    }

    /**
     * A wait of up to {@code d} in which the server may say nothing (an IMAP IDLE): the session's reads are bounded
     * by it, and an earlier read timeout of the session's own is expected, not a failure to report.
     */
    public void waiting(Duration d, String what) {
        loggingIn = false;
        failure = null;
        phase(d, what, "no word from " + server + " within " + human(d) + " while " + what);
        waiting = true;
    }

    /** The session is being closed after its outcome is known: what happens now is not its failure. */
    public void closing() {
        closing = true;
        phase(timeout, "closing", "no answer from " + server + " within " + human(timeout) + " while closing");
    }

    /** What ended the session, in the user's words (a deadline, a closed connection), or null. */
    public String failure() {
        return failure;
    }

    /** The server's negative reply to the login ({@code -ERR ...}, {@code NO ...}), or null. */
    public String refusal() {
        return refusal;
    }

    /** The server this session talks to, as {@code host:port}. */
    public String server() {
        return server;
    }

    private void phase(Duration d, String what, String text) {
        phase(d, what, () -> text);
    }

    private void phase(Duration d, String what, Supplier<String> text) {
        waiting = false;
        doing = what;
        expired = text;
        phaseEnd = System.nanoTime() + Math.min(d.toNanos(), Long.MAX_VALUE / 4);
    }

    // ------------------------------------------------------------------ for the sockets

    /** TLS handshakes write before the greeting is read; they are not the client's first command. */
    void handshaking(boolean on) {
        handshaking = on;
    }

    /** The read timeout to apply now: the smaller of {@code configured} (0 = none) and the time left. */
    int beforeRead(int configured) throws DeadlineExceededException {
        long now = System.nanoTime();
        long end = phaseEnd;
        Supplier<String> text = expired;
        if (hasFiringEnd && firingEnd - end < 0) {
            end = firingEnd;
            text = () -> firingText;
        }
        long left = end - now;
        if (left <= 0) {
            throw fail(text.get());
        }
        long ms = (left + 999_999) / 1_000_000;
        if (configured == 0 || ms < configured) {
            lastBound = text;
            return (int) Math.min(ms, Integer.MAX_VALUE);
        }
        lastBound = null;
        return configured;
    }

    /** A read timed out: which limit it was. */
    DeadlineExceededException timedOut(SocketTimeoutException e, int configured) {
        if (lastBound != null) {
            return fail(lastBound.get());
        }
        if (!greeted) {
            return fail("no greeting from " + server + " within " + human(Duration.ofMillis(configured)));
        }
        return fail("no answer from " + server + " within " + human(Duration.ofMillis(configured)) + " while " + doing
                + " (key 'timeout')");
    }

    /** The server closed the connection. */
    void closedByServer() {
        if (!closing && failure == null) {
            failure = "connection closed by the server while " + doing;
        }
    }

    /** Before the client writes: a deadline that ran out stops it; the first command ends the greeting. */
    void beforeWrite() throws DeadlineExceededException {
        long now = System.nanoTime();
        if (hasFiringEnd && now - firingEnd >= 0) {
            throw fail(firingText);
        }
        if (now - phaseEnd >= 0) {
            throw fail(expired.get());
        }
        if (!greeted && !handshaking) {
            greeted = true;
            loggingIn = true;
            phase(timeout, "logging in", "no answer from " + server + " within " + human(timeout)
                    + " while logging in (key 'timeout')");
        }
    }

    /** A line the server sent (read above TLS); while logging in, its refusal is kept. */
    public void serverLine(String line) {
        if (loggingIn && refusal == null) {
            if (line.startsWith("-ERR")) {
                refusal = line.trim();
            } else if (TAGGED_REFUSAL.matcher(line).matches()) {
                refusal = line.substring(line.indexOf(' ') + 1).trim();
            }
        }
    }

    /** Whether the session is between greeting and login (its server lines are worth keeping). */
    public boolean loggingIn() {
        return loggingIn;
    }

    private DeadlineExceededException fail(String text) {
        if (!closing && !waiting && failure == null) {
            failure = text;
        }
        return new DeadlineExceededException(text);
    }

    /** A duration as the settings write it: 4s, 30m, 2h, 250ms. */
    public static String human(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms < 1000 ? ms + "ms" : String.format(java.util.Locale.ROOT, "%.1fs", ms / 1000.0);
        }
        long s = ms / 1000;
        if (s != 0 && s % 3600 == 0) {
            return s / 3600 + "h";
        }
        if (s != 0 && s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}
