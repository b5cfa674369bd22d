package io.uplink.method.dialup.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The {@code dialup.*} keys of one connection, checked and with their defaults. */
record DialupSettings(
        String port,
        int baud,
        List<String> init,
        String number,
        DialMode dial,
        int retries,
        Duration interval,
        Duration connectTimeout,
        Duration commandTimeout,
        Duration guardTime,
        String username,
        String password,
        String pppCommand,
        Pattern pppReady,
        Duration pppReadyTimeout,
        Duration hangupIdle,
        Path lockDir) {

    static final String PREFIX = "dialup.";
    static final String PORT = PREFIX + "port";
    static final String BAUD = PREFIX + "baud";
    static final String INIT = PREFIX + "init";
    static final String NUMBER = PREFIX + "number";
    static final String DIAL = PREFIX + "dial";
    static final String RETRIES = PREFIX + "retries";
    static final String INTERVAL = PREFIX + "interval";
    static final String CONNECT_TIMEOUT = PREFIX + "connectTimeout";
    static final String COMMAND_TIMEOUT = PREFIX + "commandTimeout";
    static final String GUARD_TIME = PREFIX + "guardTime";
    static final String USERNAME = PREFIX + "username";
    static final String PASSWORD = PREFIX + "password";
    static final String PPP_COMMAND = PREFIX + "ppp.command";
    static final String PPP_READY = PREFIX + "ppp.ready";
    static final String PPP_READY_TIMEOUT = PREFIX + "ppp.readyTimeout";
    static final String HANGUP_IDLE = PREFIX + "hangup.idle";
    /** Also accepted without the prefix, as the design's sample cfg writes it. */
    static final String HANGUP_IDLE_SHORT = "hangup.idle";
    static final String LOCK_DIR = PREFIX + "lockDir";

    static final List<String> DEFAULT_INIT = List.of("ATZ", "AT&F E0 V1 Q0");
    static final int DEFAULT_BAUD = 115200;
    static final int DEFAULT_RETRIES = 3;
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
    static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(60);
    static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(5);
    static final Duration DEFAULT_GUARD_TIME = Duration.ofMillis(1100);
    static final Duration DEFAULT_PPP_READY_TIMEOUT = Duration.ofSeconds(30);
    /** pppd with {@code nodetach} logs this once IPCP is up. */
    static final String DEFAULT_PPP_READY = "local\\s+IP address";
    static final Path DEFAULT_LOCK_DIR = Path.of("/var/lock");

    /** Tone or pulse dialling: {@code ATDT} or {@code ATDP}. */
    enum DialMode {
        TONE("ATDT"), PULSE("ATDP");

        final String command;

        DialMode(String command) {
            this.command = command;
        }
    }

    /**
     * Reads and checks the keys.
     *
     * @throws ConfigException naming the file and the key at fault
     */
    static DialupSettings of(Settings s) throws ConfigException {
        String port = s.required(PORT);
        if (!port.startsWith("/")) {
            throw s.problem(PORT, "must be the explicit absolute path of the serial device, such as /dev/ttyUSB0, got '"
                    + port + "'");
        }
        int baud = s.integer(BAUD, DEFAULT_BAUD, 50, 4_000_000);
        List<String> init = init(s);
        String number = s.required(NUMBER);
        if (!number.matches("[0-9*#,WwPpTt!@ ()+-]+")) {
            throw s.problem(NUMBER, "may hold digits, * # , W P T ! @ + - ( ) and spaces only, got '" + number + "'");
        }
        DialMode dial = s.choice(DIAL, DialMode.class, DialMode.TONE);
        int retries = s.integer(RETRIES, DEFAULT_RETRIES, 0, 100);
        Duration interval = s.duration(INTERVAL, DEFAULT_INTERVAL);
        Duration connectTimeout = positive(s, CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT);
        Duration commandTimeout = positive(s, COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT);
        Duration guardTime = s.duration(GUARD_TIME, DEFAULT_GUARD_TIME);
        String username = s.string(USERNAME, null);
        String password = s.string(PASSWORD, null);
        String pppCommand = s.string(PPP_COMMAND, null);
        Pattern pppReady;
        String ready = s.string(PPP_READY, DEFAULT_PPP_READY);
        try {
            pppReady = Pattern.compile(ready);
        } catch (PatternSyntaxException e) {
            throw s.problem(PPP_READY, "must be a regular expression: " + e.getDescription());
        }
        Duration pppReadyTimeout = positive(s, PPP_READY_TIMEOUT, DEFAULT_PPP_READY_TIMEOUT);
        Duration hangupIdle = s.has(HANGUP_IDLE)
                ? s.duration(HANGUP_IDLE, Duration.ZERO)
                : s.duration(HANGUP_IDLE_SHORT, Duration.ZERO);
        String lockDir = s.string(LOCK_DIR, null);
        Path lock = DEFAULT_LOCK_DIR;
        if (lockDir != null) {
            if (!lockDir.startsWith("/")) {
                throw s.problem(LOCK_DIR, "must be an absolute directory path, got '" + lockDir + "'");
            }
            lock = Path.of(lockDir);
        }
        return new DialupSettings(port, baud, init, number, dial, retries, interval, connectTimeout, commandTimeout,
                guardTime, username, password, pppCommand, pppReady, pppReadyTimeout, hangupIdle, lock);
    }

    /** One or more init strings: a list from ConfigAdmin, or one string with {@code |} between them. */
    private static List<String> init(Settings s) {
        Object raw = s.raw().get(INIT);
        if (raw == null || raw.toString().isBlank()) {
            return DEFAULT_INIT;
        }
        List<String> parts = new ArrayList<>();
        if (raw instanceof Object[] a) {
            for (Object o : a) {
                parts.add(String.valueOf(o));
            }
        } else if (raw instanceof Collection<?> c) {
            for (Object o : c) {
                parts.add(String.valueOf(o));
            }
        } else {
            parts.addAll(List.of(raw.toString().split("\\|")));
        }
        List<String> init = new ArrayList<>();
        for (String p : parts) {
            String t = p.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (!t.regionMatches(true, 0, "AT", 0, 2)) {
                throw s.problem(INIT, "each init string must start with AT (separate several with |), got '" + t + "'");
            }
            init.add(t);
        }
        return List.copyOf(init);
    }

    private static Duration positive(Settings s, String key, Duration def) {
        Duration d = s.duration(key, def);
        if (d.isZero()) {
            throw s.problem(key, "must be longer than 0");
        }
        return d;
    }

    /** The exclusive resource the port is, shared by every connection on the same modem. */
    String resource() {
        return "serial:" + port;
    }

    /** The password never shows, in logs or status. */
    @Override
    public String toString() {
        return "DialupSettings[port=" + port + ", baud=" + baud + ", number=" + number + ", dial=" + dial
                + ", retries=" + retries + ", interval=" + interval + ", connectTimeout=" + connectTimeout
                + ", ppp.command=" + (pppCommand == null ? "" : pppCommand) + ", hangup.idle=" + hangupIdle + "]";
    }
}
