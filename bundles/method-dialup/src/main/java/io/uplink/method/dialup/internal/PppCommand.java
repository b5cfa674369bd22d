package io.uplink.method.dialup.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The command that brings the IP link up after {@code CONNECT} (such as {@code pppd call isp nodetach}). It runs
 * through {@code /bin/sh -c} in a session and process group of its own, so a hang-up stops it and every process
 * it started. It is ready when a line of its output matches {@code dialup.ppp.ready}; exiting before that, or
 * staying silent past {@code dialup.ppp.readyTimeout}, fails the connect.
 */
final class PppCommand {

    private static final Logger LOG = LoggerFactory.getLogger(PppCommand.class);
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final String connectionId;
    private final Process process;
    private final CountDownLatch ready = new CountDownLatch(1);
    private volatile String lastLine = "";

    private PppCommand(String connectionId, Process process, Pattern readyPattern) {
        this.connectionId = connectionId;
        this.process = process;
        Thread reader = new Thread(() -> read(readyPattern), "uplink-dialup-ppp-" + connectionId);
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts the command with the connection's facts in its environment (the password never on a command line). */
    static PppCommand start(String connectionId, DialupSettings s) throws IOException {
        List<String> argv = Files.isExecutable(SETSID)
                ? List.of(SETSID.toString(), "/bin/sh", "-c", s.pppCommand())
                : List.of("/bin/sh", "-c", s.pppCommand());
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("CONNECTION", connectionId);
        env.put("UPLINK_PORT", s.port());
        env.put("UPLINK_BAUD", Integer.toString(s.baud()));
        if (s.username() != null) {
            env.put("UPLINK_USERNAME", s.username());
        }
        if (s.password() != null) {
            env.put("UPLINK_PASSWORD", s.password());
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return new PppCommand(connectionId, pb.start(), s.pppReady());
    }

    private void read(Pattern readyPattern) {
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String l;
            while ((l = r.readLine()) != null) {
                LOG.debug("connection '{}' PPP: {}", connectionId, l);
                if (!l.isBlank()) {
                    lastLine = l.trim();
                }
                if (readyPattern.matcher(l).find()) {
                    ready.countDown();
                }
            }
        } catch (IOException e) {
            // the process ended; its exit code tells the rest
        }
    }

    /**
     * Waits until the command says it is ready.
     *
     * @throws IOException why it is not: it exited, or it stayed silent past the timeout
     */
    void awaitReady(Instant deadline, Duration timeout, Clockwork clock) throws IOException, InterruptedException {
        while (!ready.await(SerialLine.POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            if (!process.isAlive()) {
                throw new IOException("PPP command exited with code " + process.exitValue() + lastOutput());
            }
            if (!clock.now().isBefore(deadline)) {
                throw new IOException("PPP command not ready within " + Durations.text(timeout) + lastOutput());
            }
        }
    }

    private String lastOutput() {
        return lastLine.isEmpty() ? "" : " (last output: " + lastLine + ")";
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Why the command is no longer running, or {@code null} while it runs. */
    String exitReason() {
        return process.isAlive() ? null : "PPP command exited with code " + process.exitValue() + lastOutput();
    }

    long pid() {
        return process.pid();
    }

    /** Stops the whole process group: TERM, then KILL after a grace period. */
    void stop() {
        if (!process.isAlive() && process.descendants().findAny().isEmpty()) {
            signalGroup("KILL"); // children that outlived their parent still belong to the group
            return;
        }
        signalGroup("TERM");
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                signalGroup("KILL");
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        signalGroup("KILL");
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private void signalGroup(String signal) {
        // Java cannot signal a process group; kill(1) can (the group id is the pid: setsid made it a leader)
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, "--", "-" + process.pid())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            LOG.warn("connection '{}': cannot signal the PPP command's process group: {}", connectionId, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
