package io.uplink.mail.internal.outbox;

import io.uplink.api.mail.FailedMessage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox's {@code failed/} folder, read and cleaned: each failed message is its {@code <id>.eml} and
 * the {@code <id>.state} that says which recipients failed and why. Only {@link FileOutbox} moves messages in
 * (and out again, when one is requeued); this class lists, deletes and purges.
 */
public final class FailedFolder {

    private static final Logger LOG = LoggerFactory.getLogger(FailedFolder.class);
    /** Queue ids are made by {@link FileOutbox}; anything else named by a person is no id (and no path). */
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

    private final Path dir;

    FailedFolder(Path dir) {
        this.dir = dir;
    }

    /** The failed messages, newest failure first. */
    public List<FailedMessage> list() throws IOException {
        List<FailedMessage> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.state")) {
            for (Path f : ds) {
                String n = f.getFileName().toString();
                read(n.substring(0, n.length() - ".state".length())).ifPresent(out::add);
            }
        }
        out.sort(Comparator.comparing(FailedMessage::failedAt).reversed().thenComparing(FailedMessage::id));
        return out;
    }

    /** One failed message, empty when there is none by that id (or it cannot be read). */
    public Optional<FailedMessage> read(String id) {
        return entry(id).map(e -> view(e));
    }

    Optional<FileOutbox.Entry> entry(String id) {
        if (!ID.matcher(id).matches()) {
            return Optional.empty();
        }
        Path state = dir.resolve(id + ".state");
        try {
            FileOutbox.Entry e = FileOutbox.readState(id, state);
            if (e.failedAt == null) {
                // failed before the time was recorded: the state file was written when it failed
                e.failedAt = Files.getLastModifiedTime(state).toInstant();
            }
            return Optional.of(e);
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        } catch (IOException | RuntimeException x) {
            LOG.warn("Failed message {}: its state file {} cannot be read ({})", id, state, x.toString());
            return Optional.empty();
        }
    }

    /** The message file of a failed message. */
    Path body(String id) {
        return dir.resolve(id + ".eml");
    }

    /** Removes a failed message; false when there is none by that id. */
    public boolean delete(String id) throws IOException {
        if (!ID.matcher(id).matches()) {
            return false;
        }
        // the state first: a body left alone by a crash is removed with the next purge
        boolean had = Files.deleteIfExists(dir.resolve(id + ".state"));
        had |= Files.deleteIfExists(body(id));
        return had;
    }

    /** Removes the messages that failed before {@code before}; returns how many. */
    public int purge(Instant before) throws IOException {
        int n = 0;
        for (FailedMessage m : list()) {
            if (m.failedAt().isBefore(before) && delete(m.id())) {
                n++;
            }
        }
        // message files whose state went (a crash during a delete) are no message any more
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.eml")) {
            for (Path f : ds) {
                String n2 = f.getFileName().toString();
                Path state = dir.resolve(n2.substring(0, n2.length() - 4) + ".state");
                if (!Files.exists(state) && Files.getLastModifiedTime(f).toInstant().isBefore(before)) {
                    Files.deleteIfExists(f);
                }
            }
        }
        return n;
    }

    /** Removes files in {@code folder} last changed before {@code before} (the pickup's rejected files). */
    static int purgeFiles(Path folder, Instant before) throws IOException {
        if (!Files.isDirectory(folder)) {
            return 0;
        }
        int n = 0;
        FileTime limit = FileTime.from(before);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder)) {
            for (Path f : ds) {
                if (Files.isRegularFile(f) && Files.getLastModifiedTime(f).compareTo(limit) < 0) {
                    Files.deleteIfExists(f);
                    n++;
                }
            }
        }
        return n;
    }

    static FailedMessage view(FileOutbox.Entry e) {
        Map<String, String> failed = new LinkedHashMap<>();
        e.recipients.forEach((a, r) -> {
            if (r.state == FileOutbox.State.FAILED) {
                failed.put(a, r.reply == null ? "failed" : r.reply);
            }
        });
        return new FailedMessage(e.id, e.from, failed, e.size, e.queued, e.failedAt);
    }
}
