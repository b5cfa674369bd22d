package io.uplink.method.dialup.testing;

import com.fazecast.jSerialComm.SerialPort;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Hayes modem played by a script, serving the modem side of a {@link PtyPair} through jSerialComm. It answers
 * init commands (echo on until {@code E0}, as after power-up), and a dial by the number dialled:
 * <ul>
 * <li>{@link #CONNECTS}: {@code CONNECT 33600}, then online until {@code +++} or a remote hang-up;</li>
 * <li>{@link #BUSY}, {@link #NO_CARRIER}, {@link #NO_DIALTONE}, {@link #NO_ANSWER}, {@link #ERROR}: that result;</li>
 * <li>{@link #SILENT}: nothing, until any character aborts the dial ({@code NO CARRIER});</li>
 * <li>{@link #busyThenConnect(int)}: {@code BUSY} n times, then {@code CONNECT}.</li>
 * </ul>
 * Online, {@code +++} returns to command mode ({@code OK}) while still off-hook; {@code ATH} goes on-hook. A hostile
 * modem is scripted too: {@link #answerErrorTo(String)} refuses a command, {@link #floodOn(String)} answers a
 * command with bytes that never end in a line end.
 */
public final class ScriptedModem implements AutoCloseable {

    public static final String CONNECTS = "5550100";
    public static final String BUSY = "5550200";
    public static final String NO_CARRIER = "5550300";
    public static final String NO_DIALTONE = "5550400";
    public static final String NO_ANSWER = "5550500";
    public static final String SILENT = "5550600";
    public static final String ERROR = "5550700";
    public static final String CONNECT_LINE = "CONNECT 33600";

    /** A number that is busy {@code times} times, then connects. */
    public static String busyThenConnect(int times) {
        return "55509" + times;
    }

    private enum State { COMMAND, DIALLING_SILENT, ONLINE }

    private final SerialPort port;
    private final Thread thread;
    private final List<String> commands = new ArrayList<>();
    private final Map<String, AtomicInteger> dialled = new ConcurrentHashMap<>();
    private final AtomicInteger escapes = new AtomicInteger();
    private final AtomicInteger hangups = new AtomicInteger();
    private final AtomicInteger dataBytes = new AtomicInteger();
    private final AtomicLong flooded = new AtomicLong();
    private volatile String refused;
    private volatile String floodTrigger;
    private volatile CountDownLatch silentDial = new CountDownLatch(1);
    private volatile State state = State.COMMAND;
    private volatile boolean offHook;
    private volatile boolean closed;
    private volatile boolean ended;
    private boolean echo = true;

    private ScriptedModem(SerialPort port) {
        this.port = port;
        this.thread = new Thread(this::serve, "scripted-modem");
        thread.setDaemon(true);
    }

    /** Opens the modem side of the pair and starts answering. */
    public static ScriptedModem serve(Path modemSide) throws IOException {
        SerialPort p = SerialPort.getCommPort(modemSide.toString());
        // writes wait at most a second for room, so a flood nobody reads neither spins nor hangs on close
        p.setComPortTimeouts(SerialPort.TIMEOUT_READ_SEMI_BLOCKING | SerialPort.TIMEOUT_WRITE_BLOCKING, 100, 1000);
        if (!p.openPort()) {
            throw new IOException("cannot open " + modemSide + " (error " + p.getLastErrorCode() + ")");
        }
        ScriptedModem m = new ScriptedModem(p);
        m.thread.start();
        return m;
    }

    private void serve() {
        byte[] buf = new byte[256];
        StringBuilder cmd = new StringBuilder();
        int plus = 0;
        try {
            while (!closed) {
                int n = port.readBytes(buf, buf.length);
                if (n < 0) {
                    return; // the line is gone
                }
                for (int i = 0; i < n; i++) {
                    char c = (char) (buf[i] & 0x7f);
                    switch (state) {
                        case DIALLING_SILENT:
                            // any character aborts a dial in progress
                            state = State.COMMAND;
                            offHook = false;
                            result("NO CARRIER");
                            break;
                        case ONLINE:
                            plus = c == '+' ? plus + 1 : 0;
                            dataBytes.incrementAndGet();
                            if (plus == 3) {
                                plus = 0;
                                escapes.incrementAndGet();
                                state = State.COMMAND;
                                result("OK");
                            }
                            break;
                        default:
                            if (echo) {
                                write(String.valueOf(c));
                            }
                            if (c == '\r') {
                                command(cmd.toString().trim());
                                cmd.setLength(0);
                            } else if (c != '\n') {
                                cmd.append(c);
                            }
                    }
                }
            }
        } finally {
            ended = true;
        }
    }

    private void command(String raw) {
        if (raw.isEmpty()) {
            return;
        }
        String c = normal(raw);
        synchronized (commands) {
            commands.add(raw);
        }
        if (!c.startsWith("AT")) {
            result("ERROR");
            return;
        }
        if (refused != null && c.startsWith(refused)) {
            result("ERROR");
            return;
        }
        if (floodTrigger != null && c.startsWith(floodTrigger)) {
            flood();
            return;
        }
        if (c.startsWith("ATD")) {
            dial(c.substring(3).replaceFirst("^[TP]", ""));
            return;
        }
        if (c.startsWith("ATH")) {
            hangups.incrementAndGet();
            offHook = false;
            result("OK");
            return;
        }
        if (c.startsWith("ATZ") || c.contains("&F")) {
            echo = true;
        }
        if (c.contains("E0")) {
            echo = false;
        } else if (c.contains("E1")) {
            echo = true;
        }
        result("OK");
    }

    private void dial(String number) {
        int count = dialled.computeIfAbsent(number, k -> new AtomicInteger()).incrementAndGet();
        offHook = true;
        if (number.startsWith("55509")) {
            int busy = Integer.parseInt(number.substring(5));
            if (count <= busy) {
                offHook = false;
                result("BUSY");
            } else {
                connect();
            }
            return;
        }
        switch (number) {
            case CONNECTS: connect(); return;
            case SILENT:
                state = State.DIALLING_SILENT;
                silentDial.countDown();
                return;
            case BUSY: offHook = false; result("BUSY"); return;
            case NO_CARRIER: offHook = false; result("NO CARRIER"); return;
            case NO_DIALTONE: offHook = false; result("NO DIALTONE"); return;
            case NO_ANSWER: offHook = false; result("NO ANSWER"); return;
            default: offHook = false; result("ERROR");
        }
    }

    private void connect() {
        state = State.ONLINE;
        result(CONNECT_LINE);
    }

    private void result(String code) {
        write("\r\n" + code + "\r\n");
    }

    private synchronized void write(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        port.writeBytes(b, b.length);
    }

    /** From now on, commands starting with {@code prefix} (spaces and case aside) are answered {@code ERROR}. */
    public void answerErrorTo(String prefix) {
        refused = normal(prefix);
    }

    /**
     * From now on, a command starting with {@code prefix} is answered with {@code x} characters without end and
     * no line end, until the modem is closed or the line is gone.
     */
    public void floodOn(String prefix) {
        floodTrigger = normal(prefix);
    }

    /** How many flood bytes went out so far. */
    public long flooded() {
        return flooded.get();
    }

    private static String normal(String command) {
        return command.toUpperCase(Locale.ROOT).replace(" ", "");
    }

    private void flood() {
        Thread t = new Thread(() -> {
            byte[] chunk = new byte[256];
            java.util.Arrays.fill(chunk, (byte) 'x');
            while (!closed) {
                int n;
                synchronized (this) {
                    n = port.writeBytes(chunk, chunk.length);
                }
                if (n < 0) {
                    return;
                }
                flooded.addAndGet(n);
            }
        }, "scripted-modem-flood");
        t.setDaemon(true);
        t.start();
    }

    /** The far end hangs up: an unsolicited {@code NO CARRIER}, back to command mode, on-hook. */
    public void remoteHangup() {
        state = State.COMMAND;
        offHook = false;
        result("NO CARRIER");
    }

    /** Every command line received, in order. */
    public List<String> commands() {
        synchronized (commands) {
            return List.copyOf(commands);
        }
    }

    /** How often the number was dialled. */
    public int dials(String number) {
        AtomicInteger n = dialled.get(number);
        return n == null ? 0 : n.get();
    }

    public boolean isOffHook() {
        return offHook;
    }

    /** Whether a dial of {@link #SILENT} is still in progress (no character has aborted it). */
    public boolean isDialling() {
        return state == State.DIALLING_SILENT;
    }

    public boolean isOnline() {
        return state == State.ONLINE;
    }

    /** How many {@code +++} escapes it saw online. */
    public int escapes() {
        return escapes.get();
    }

    /** How many {@code ATH} commands it obeyed. */
    public int hangups() {
        return hangups.get();
    }

    /** Bytes received while online (the escape sequence included). */
    public int dataBytes() {
        return dataBytes.get();
    }

    /** Counted down when a dial of {@link #SILENT} starts (and re-armed by {@link #rearmSilentDial()}). */
    public CountDownLatch silentDial() {
        return silentDial;
    }

    public void rearmSilentDial() {
        silentDial = new CountDownLatch(1);
    }

    /** Whether its serving thread ended (the line closed or {@link #close()}). */
    public boolean hasEnded() {
        return ended;
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        thread.join(5000);
        port.closePort();
    }
}
