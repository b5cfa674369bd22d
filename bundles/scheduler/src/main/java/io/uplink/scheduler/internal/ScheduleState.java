package io.uplink.scheduler.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Properties;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the schedule remembers across restarts ({@code state/schedule.properties}): whether it is paused, and
 * per item its last firing and since when it has been armed, for the catch-up after downtime. Written
 * atomically (temp file, fsync, rename).
 */
final class ScheduleState {

    private static final Logger LOG = LoggerFactory.getLogger(ScheduleState.class);
    private static final String PAUSED = "paused";

    private final Path file;
    private final Properties props = new Properties();

    ScheduleState(Path stateDir) {
        this.file = stateDir.resolve("schedule.properties");
        if (Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                props.load(in);
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn("Cannot read the schedule state {} ({}); starting unpaused, without last firings", file,
                        e.toString());
            }
        }
    }

    synchronized boolean paused() {
        return Boolean.parseBoolean(props.getProperty(PAUSED, "false"));
    }

    synchronized void paused(boolean paused) {
        props.setProperty(PAUSED, Boolean.toString(paused));
        save();
    }

    synchronized Instant lastFiring(String id) {
        return instant("last." + id);
    }

    synchronized void lastFiring(String id, Instant t) {
        props.setProperty("last." + id, t.toString());
        save();
    }

    synchronized Instant since(String id) {
        return instant("since." + id);
    }

    synchronized void since(String id, Instant t) {
        props.setProperty("since." + id, t.toString());
        save();
    }

    /** Forgets an item whose configuration was deleted. */
    synchronized void forget(String id) {
        if (props.remove("last." + id) != null | props.remove("since." + id) != null) {
            save();
        }
    }

    private Instant instant(String key) {
        String v = props.getProperty(key);
        if (v == null) {
            return null;
        }
        try {
            return Instant.parse(v);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void save() {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                props.store(out, "Uplink schedule state");
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("Cannot write the schedule state {}: {}", file, e.toString());
        }
    }
}
