package io.uplink.core.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a connection's post-connect or pre-disconnect command through {@code /bin/sh -c}, with the
 * connection in its environment and a time limit after which the command and its children are killed.
 */
final class CommandRunner {

    /** Output kept for the firing's record (the tail of it). */
    private static final int KEEP = 2048;

    record Outcome(boolean ok, String message) {
    }

    private CommandRunner() {
    }

    static Outcome run(String command, Duration timeout, boolean ignoreExitCode, Map<String, String> env)
            throws InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command);
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Outcome(false, "cannot start '" + command + "': " + e.getMessage());
        }
        try {
            p.getOutputStream().close();
        } catch (IOException e) {
            // the command does not read its input anyway
        }
        Tail tail = new Tail(p.getInputStream());
        Thread reader = new Thread(tail, "uplink-command-output");
        reader.setDaemon(true);
        reader.start();
        boolean finished;
        try {
            finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(p);
            throw e;
        }
        if (!finished) {
            kill(p);
            reader.join(1000);
            return new Outcome(false, "'" + command + "' did not end within " + timeout.toMillis() + " ms and was stopped"
                    + tail.suffix());
        }
        reader.join(1000);
        int code = p.exitValue();
        if (code == 0) {
            return new Outcome(true, "'" + command + "' exited 0" + tail.suffix());
        }
        if (ignoreExitCode) {
            return new Outcome(true, "'" + command + "' exited " + code + " (ignored: commands.ignoreExitCode)" + tail.suffix());
        }
        return new Outcome(false, "'" + command + "' exited " + code + tail.suffix());
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Keeps the last {@link #KEEP} bytes of the output. */
    private static final class Tail implements Runnable {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        Tail(InputStream in) {
            this.in = in;
        }

        @Override
        public void run() {
            byte[] b = new byte[4096];
            try {
                int n;
                while ((n = in.read(b)) >= 0) {
                    synchronized (buf) {
                        buf.write(b, 0, n);
                        if (buf.size() > KEEP * 2) {
                            byte[] all = buf.toByteArray();
                            buf.reset();
                            buf.write(all, all.length - KEEP, KEEP);
                        }
                    }
                }
            } catch (IOException e) {
                // the process went away; what was read is kept
            }
        }

        String suffix() {
            String s;
            synchronized (buf) {
                byte[] all = buf.toByteArray();
                int from = Math.max(0, all.length - KEEP);
                s = new String(all, from, all.length - from, StandardCharsets.UTF_8).strip();
            }
            return s.isEmpty() ? "" : ": " + s.replaceAll("\\s*\\R\\s*", " / ");
        }
    }
}
