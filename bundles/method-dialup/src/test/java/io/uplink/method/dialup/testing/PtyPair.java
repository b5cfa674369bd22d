package io.uplink.method.dialup.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A real pseudo-terminal pair made by socat: {@code modem} is the side the scripted modem serves, {@code line} the
 * side a dialler opens (as it would open /dev/ttyUSB0). Closing the pair makes both devices vanish, as an unplugged
 * modem does.
 */
public final class PtyPair implements AutoCloseable {

    private final Process socat;
    private final Path modem;
    private final Path line;

    private PtyPair(Process socat, Path modem, Path line) {
        this.socat = socat;
        this.modem = modem;
        this.line = line;
    }

    /** Starts socat and waits until it has made both devices. */
    public static PtyPair open(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path modem = dir.resolve("modem");
        Path line = dir.resolve("line");
        Process p = new ProcessBuilder("socat", "-d", "-d",
                "pty,raw,echo=0,link=" + modem, "pty,raw,echo=0,link=" + line)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        CountDownLatch started = new CountDownLatch(1);
        StringBuilder log = new StringBuilder();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    synchronized (log) {
                        log.append(l).append('\n');
                    }
                    // socat logs this once both ptys and their links exist
                    if (l.contains("starting data transfer loop")) {
                        started.countDown();
                    }
                }
            } catch (IOException e) {
                // socat ended
            }
        }, "socat-log");
        t.setDaemon(true);
        t.start();
        if (!started.await(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            synchronized (log) {
                throw new IOException("socat did not start: " + log);
            }
        }
        return new PtyPair(p, modem, line);
    }

    public Path modem() {
        return modem;
    }

    public Path line() {
        return line;
    }

    public boolean isOpen() {
        return socat.isAlive();
    }

    /** Ends socat: both pseudo-terminals close, the links go. */
    @Override
    public void close() throws InterruptedException {
        socat.destroy();
        if (!socat.waitFor(5, TimeUnit.SECONDS)) {
            socat.destroyForcibly().waitFor();
        }
    }
}
