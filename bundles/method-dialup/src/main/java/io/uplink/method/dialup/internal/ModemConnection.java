package io.uplink.method.dialup.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A modem line that is up: the open port, its UUCP lock, the PPP command if any, and a watcher that notices the
 * line drop (an unsolicited {@code NO CARRIER}, the port vanishing, the PPP command exiting). {@link #hangUp()}
 * takes it all down in order and is safe to call from any thread, any number of times.
 */
final class ModemConnection {

    private static final Logger LOG = LoggerFactory.getLogger(ModemConnection.class);

    private final String connectionId;
    private final DialupSettings settings;
    private final SerialLine line;
    private final Hayes hayes;
    private final UucpLock lock;
    private final PppCommand ppp;
    private final String connect;
    private final Thread watcher;
    private volatile boolean stopping;
    private volatile String lost;
    private volatile boolean carrierLost;
    private boolean hungUp;

    ModemConnection(String connectionId, DialupSettings settings, SerialLine line, Hayes hayes, UucpLock lock,
            PppCommand ppp, String connect) {
        this.connectionId = connectionId;
        this.settings = settings;
        this.line = line;
        this.hayes = hayes;
        this.lock = lock;
        this.ppp = ppp;
        this.connect = connect;
        this.watcher = new Thread(this::watch, "uplink-dialup-line-" + connectionId);
        watcher.setDaemon(true);
    }

    ModemConnection start() {
        watcher.start();
        return this;
    }

    String connectionId() {
        return connectionId;
    }

    DialupSettings settings() {
        return settings;
    }

    /** The modem's CONNECT line. */
    String connectLine() {
        return connect;
    }

    boolean isUp() {
        return lost == null && !stopping;
    }

    String lostReason() {
        return lost;
    }

    private void watch() {
        // with a PPP command the line's bytes are PPP's: only the process and the device are watched
        try {
            while (!stopping) {
                if (ppp != null) {
                    String exit = ppp.exitReason();
                    if (exit != null) {
                        lost("the " + exit);
                        return;
                    }
                    if (!Files.exists(Path.of(settings.port()))) {
                        lost("serial port " + settings.port() + " vanished");
                        return;
                    }
                    TimeUnit.MILLISECONDS.sleep(SerialLine.POLL_MILLIS);
                } else {
                    String l = hayes.readLine(null);
                    if (Hayes.Result.of(l) == Hayes.Result.NO_CARRIER) {
                        carrierLost = true;
                        lost("the line dropped (NO CARRIER)");
                        return;
                    }
                }
            }
        } catch (IOException e) {
            if (!stopping) {
                lost(e.getMessage());
            }
        } catch (InterruptedException e) {
            // hang-up in progress
        }
    }

    private void lost(String reason) {
        if (!stopping) {
            lost = reason;
            LOG.warn("connection '{}': {}", connectionId, reason);
        }
    }

    /**
     * Hangs up: stops the PPP command's process group, then {@code +++} and {@code ATH0}, a DTR drop where the
     * port has one, closes the port and removes the lock. Never throws.
     */
    synchronized void hangUp() {
        if (hungUp) {
            return;
        }
        hungUp = true;
        stopping = true;
        watcher.interrupt();
        boolean interrupted = false;
        try {
            watcher.join(5000);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (ppp != null) {
            ppp.stop();
        }
        // after NO CARRIER the modem is back in command mode: no escape sequence
        hangUpLine(connectionId, line, hayes, !carrierLost, settings);
        lock.close();
        LOG.info("connection '{}': hung up {}", connectionId, settings.port());
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The modem part of a hang-up, also used when a connect fails half-way. */
    static void hangUpLine(String connectionId, SerialLine line, Hayes hayes, boolean online, DialupSettings s) {
        try {
            if (!line.isGone()) {
                boolean interrupted = Thread.interrupted(); // a hang-up must finish even for an interrupted caller
                try {
                    Hayes.Reply r = hayes.hangup(online, s.guardTime(), s.commandTimeout());
                    if (r.result() != Hayes.Result.OK && r.result() != Hayes.Result.TIMEOUT) {
                        // ATH0's first character may have aborted a dial still in progress: once more
                        r = hayes.command("ATH0", s.commandTimeout());
                    }
                    if (r.result() != Hayes.Result.OK) {
                        LOG.warn("connection '{}': ATH0 answered {}", connectionId, r.text());
                    }
                } finally {
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        } catch (IOException e) {
            LOG.info("connection '{}': no hang-up dialogue: {}", connectionId, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!line.pulseDtr()) {
            LOG.debug("connection '{}': {} has no DTR line to drop", connectionId, line.path());
        }
        line.close();
    }
}
