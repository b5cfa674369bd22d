package io.uplink.web.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A connection's activity log: {@code <dir>/<id>.log}, one line per event, rotated to {@code <id>.log.1} ...
 * {@code <id>.log.<keep>} when it grows past {@code maxBytes}, so it never fills the disk.
 */
final class ActivityLog {

    private final Path dir;
    private final long maxBytes;
    private final int keep;

    ActivityLog(Path dir, long maxBytes, int keep) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.keep = keep;
    }

    Path dir() {
        return dir;
    }

    Path file(String connection) {
        // ids come from file names; encode so no id can leave the folder
        String safe = URLEncoder.encode(connection, StandardCharsets.UTF_8).replace("*", "%2A");
        if (safe.startsWith(".")) {
            safe = "%2E" + safe.substring(1);
        }
        return dir.resolve(safe + ".log");
    }

    synchronized void append(String connection, String line) {
        Path f = file(connection);
        try {
            Files.createDirectories(dir);
            if (Files.exists(f) && Files.size(f) >= maxBytes) {
                rotate(f);
            }
            Files.writeString(f, line.replace('\n', ' ') + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("activity log " + f + ": " + e.getMessage(), e);
        }
    }

    private void rotate(Path f) throws IOException {
        Files.deleteIfExists(Path.of(f + "." + keep));
        for (int i = keep - 1; i >= 1; i--) {
            Path from = Path.of(f + "." + i);
            if (Files.exists(from)) {
                Files.move(from, Path.of(f + "." + (i + 1)), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.move(f, Path.of(f + ".1"), StandardCopyOption.REPLACE_EXISTING);
    }

    /** The last {@code limit} lines, oldest first, across the rotated files. */
    synchronized List<String> tail(String connection, int limit) {
        Path f = file(connection);
        List<String> out = new ArrayList<>();
        try {
            for (int i = 0; i <= keep && out.size() < limit; i++) {
                Path p = i == 0 ? f : Path.of(f + "." + i);
                List<String> lines;
                try {
                    lines = Files.readAllLines(p, StandardCharsets.UTF_8);
                } catch (NoSuchFileException e) {
                    continue;
                }
                Collections.reverse(lines);
                for (String l : lines) {
                    if (out.size() >= limit) {
                        break;
                    }
                    out.add(l);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("activity log " + f + ": " + e.getMessage(), e);
        }
        Collections.reverse(out);
        return out;
    }
}
