package io.uplink.method.dialup.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.api.method.ConnectException;
import io.uplink.api.method.ConnectionMethod;
import io.uplink.api.method.Link;
import io.uplink.api.method.LinkContext;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VPOP3's "Use Dial-up for connection": Uplink drives a Hayes modem on a serial port. Init, dial, redial on
 * failure, an optional PPP command once connected; hang-up when the firing ends or after {@code hangup.idle}, and
 * on deactivation (bundle stop, Karaf shutdown), so the modem is never left off-hook.
 */
@Component(service = ConnectionMethod.class, property = ConnectionMethod.PROPERTY + "=dialup",
        configurationPid = DialupMethod.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
public class DialupMethod implements ConnectionMethod {

    static final String PID = "io.uplink.method.dialup";
    /** jSerialComm loads its native library under a random name, so a bundle refresh can load it again. */
    static final String RANDOMIZE_NATIVE = "jSerialComm.library.randomizeNativeName";
    /** jSerialComm extracts its native library into a folder named after this id. */
    static final String APP_ID = "fazecast.jSerialComm.appid";

    private static final Logger LOG = LoggerFactory.getLogger(DialupMethod.class);

    private final Clockwork clock;
    private final boolean ownClock;
    /** Lines kept up after a firing ({@code hangup.idle}), by connection id, with the timer that hangs them up. */
    private final Map<String, Idle> idle = new ConcurrentHashMap<>();
    /** Every line up, idle or in use, so deactivation hangs up all of them. */
    private final Set<ModemConnection> up = ConcurrentHashMap.newKeySet();
    private volatile boolean active = true;

    private record Idle(ModemConnection connection, Runnable cancelTimer) {
    }

    /** For DS. */
    public DialupMethod() {
        this(new SystemClockwork(), true);
    }

    DialupMethod(Clockwork clock) {
        this(clock, false);
    }

    private DialupMethod(Clockwork clock, boolean ownClock) {
        this.clock = clock;
        this.ownClock = ownClock;
    }

    @Activate
    void activate(Map<String, Object> properties) {
        // before the first use of jSerialComm loads its native library (the feature's config sets them too)
        nativeProperty(RANDOMIZE_NATIVE, properties, "true");
        nativeProperty(APP_ID, properties, "uplink");
    }

    private static void nativeProperty(String key, Map<String, Object> properties, String def) {
        Object v = properties.get(key);
        String value = v == null ? def : v.toString();
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        } else if (!System.getProperty(key).equals(value)) {
            LOG.info("system property {} is already {}; keeping it", key, System.getProperty(key));
        }
    }

    @Deactivate
    void deactivate() {
        active = false;
        hangUpAll();
        if (ownClock) {
            ((SystemClockwork) clock).close();
        }
    }

    @Override
    public String description() {
        return "a Hayes modem on a serial port (dialup.port, dialup.number; redial, hang-up after idle, PPP command)";
    }

    @Override
    public void validate(Settings connection) throws ConfigException {
        DialupSettings.of(connection);
    }

    @Override
    public Set<String> resources(Settings connection) {
        String port = connection.string(DialupSettings.PORT, null);
        return port == null ? Set.of() : Set.of("serial:" + port);
    }

    @Override
    public Link connect(LinkContext context) throws ConnectException, InterruptedException {
        DialupSettings s;
        try {
            s = DialupSettings.of(context.settings());
        } catch (ConfigException e) {
            throw new ConnectException(e.getMessage(), e);
        }
        if (!active) {
            throw new ConnectException("the dialup method is stopping");
        }
        String id = context.connectionId();
        Link kept = reuseIdle(id, s, context);
        if (kept != null) {
            return kept;
        }
        freePortFromIdle(s.port(), context);

        UucpLock lock;
        try {
            lock = UucpLock.acquire(s.lockDir(), s.port());
        } catch (UucpLock.PortInUseException e) {
            throw new ConnectException(e.getMessage());
        } catch (IOException e) {
            throw new ConnectException("cannot write the lock file for " + s.port() + " in " + s.lockDir() + ": "
                    + e.getMessage() + " (check " + DialupSettings.LOCK_DIR + ")", e);
        }
        SerialLine line;
        try {
            line = SerialLine.open(s.port(), s.baud());
        } catch (IOException e) {
            lock.close();
            throw new ConnectException(e.getMessage(), e);
        }
        Hayes hayes = new Hayes(line, clock);
        boolean online = false;
        PppCommand ppp = null;
        boolean done = false;
        try {
            init(s, hayes, context);
            String connect = dial(s, hayes, context);
            online = true;
            if (s.pppCommand() != null) {
                context.progress("starting the PPP command");
                Instant deadline = clock.now().plus(s.pppReadyTimeout());
                ppp = PppCommand.start(id, s);
                ppp.awaitReady(deadline, s.pppReadyTimeout(), clock);
                context.progress("PPP is up");
            }
            ModemConnection c = new ModemConnection(id, s, line, hayes, lock, ppp, connect).start();
            up.add(c);
            done = true;
            if (!active) {
                // deactivated while dialling: its sweep missed this line
                hangUp(c);
                throw new ConnectException("the dialup method is stopping");
            }
            return new DialupLink(this, c, describe(s, connect));
        } catch (IOException e) {
            throw new ConnectException(e.getMessage(), e);
        } finally {
            if (!done) {
                // every way out of a failed connect hangs up
                if (ppp != null) {
                    ppp.stop();
                }
                ModemConnection.hangUpLine(id, line, hayes, online, s);
                lock.close();
            }
        }
    }

    private static String describe(DialupSettings s, String connect) {
        return connect + " on " + s.port() + (s.pppCommand() != null ? " (PPP)" : "");
    }

    private void init(DialupSettings s, Hayes hayes, LinkContext context)
            throws IOException, InterruptedException, ConnectException {
        for (String init : s.init()) {
            context.progress("modem init: " + init);
            Hayes.Reply r = hayes.command(init, s.commandTimeout());
            if (r.result() == Hayes.Result.TIMEOUT) {
                throw new ConnectException(context.settings().item() + ": the modem on " + s.port()
                        + " did not answer '" + init + "' within " + Durations.text(s.commandTimeout())
                        + " (is it on, and is the port right?)");
            }
            if (r.result() != Hayes.Result.OK) {
                throw new ConnectException(context.settings().item() + ": the modem on " + s.port() + " answered "
                        + r.text() + " to '" + init + "'; nothing was dialled (check " + DialupSettings.INIT + " in "
                        + context.settings().file() + ")");
            }
        }
    }

    /** Dials until CONNECT or the attempts are used up; each attempt's outcome goes to the status. */
    private String dial(DialupSettings s, Hayes hayes, LinkContext context)
            throws IOException, InterruptedException, ConnectException {
        int attempts = s.retries() + 1;
        List<String> outcomes = new ArrayList<>();
        for (int attempt = 1; attempt <= attempts; attempt++) {
            String prefix = "attempt " + attempt + "/" + attempts + ": ";
            context.progress(prefix + "dialling " + s.number());
            Hayes.Reply r = hayes.dial(s.dial().command + s.number(), s.connectTimeout(), s.commandTimeout());
            String outcome = r.result() == Hayes.Result.TIMEOUT
                    ? "no CONNECT within " + Durations.text(s.connectTimeout()) + ", dial aborted"
                    : r.text();
            context.progress(prefix + outcome);
            if (r.result() == Hayes.Result.CONNECT) {
                return r.line();
            }
            outcomes.add(outcome);
            if (attempt < attempts) {
                context.progress("redialling in " + Durations.text(s.interval()));
                clock.sleep(s.interval());
            }
        }
        throw new ConnectException("dialling " + s.number() + " on " + s.port() + " failed after " + attempts
                + (attempts == 1 ? " attempt: " : " attempts: ") + String.join(", ", outcomes));
    }

    private Link reuseIdle(String id, DialupSettings s, LinkContext context) {
        Idle kept = idle.remove(id);
        if (kept == null) {
            return null;
        }
        kept.cancelTimer().run();
        ModemConnection c = kept.connection();
        if (c.isUp() && sameLine(c.settings(), s)) {
            context.progress("line kept up since the last firing: " + c.connectLine());
            return new DialupLink(this, c, describe(s, c.connectLine()) + ", kept up");
        }
        hangUp(c);
        return null;
    }

    /** Whether a kept line still is what the (maybe edited) settings ask for. */
    private static boolean sameLine(DialupSettings kept, DialupSettings now) {
        return kept.port().equals(now.port()) && kept.number().equals(now.number())
                && java.util.Objects.equals(kept.pppCommand(), now.pppCommand());
    }

    private void freePortFromIdle(String port, LinkContext context) {
        for (Idle i : idle.values()) {
            ModemConnection c = i.connection();
            if (c.settings().port().equals(port) && idle.remove(c.connectionId(), i)) {
                i.cancelTimer().run();
                context.progress("hanging up connection '" + c.connectionId() + "', kept up idle on " + port);
                hangUp(c);
            }
        }
    }

    /** A firing ended with this line: hang up, or keep it for {@code hangup.idle}. */
    void release(ModemConnection c) {
        if (!active || !c.isUp() || c.settings().hangupIdle().isZero()) {
            hangUp(c);
            return;
        }
        Idle[] holder = new Idle[1];
        Runnable cancel = clock.schedule(c.settings().hangupIdle(), () -> {
            if (idle.remove(c.connectionId(), holder[0])) {
                LOG.info("connection '{}': idle for {}, hanging up", c.connectionId(),
                        Durations.text(c.settings().hangupIdle()));
                hangUp(c);
            }
        });
        holder[0] = new Idle(c, cancel);
        Idle previous = idle.put(c.connectionId(), holder[0]);
        if (previous != null && previous.connection() != c) {
            previous.cancelTimer().run();
            hangUp(previous.connection());
        }
        if (!active) {
            hangUpAll();
        }
    }

    @Override
    public boolean hangup(Settings connection) {
        Idle kept = idle.remove(connection.id());
        if (kept == null) {
            return false;
        }
        kept.cancelTimer().run();
        hangUp(kept.connection());
        return true;
    }

    /** Whether a line is kept up idle for the connection. */
    boolean isKeptUp(String connectionId) {
        return idle.containsKey(connectionId);
    }

    private void hangUp(ModemConnection c) {
        try {
            c.hangUp();
        } finally {
            up.remove(c);
        }
    }

    private void hangUpAll() {
        for (String id : List.copyOf(idle.keySet())) {
            Idle i = idle.remove(id);
            if (i != null) {
                i.cancelTimer().run();
            }
        }
        for (ModemConnection c : List.copyOf(up)) {
            hangUp(c);
        }
    }
}
