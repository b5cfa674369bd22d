package io.uplink.mail.internal.outbox;

import io.uplink.api.mail.QueuedMessage;
import io.uplink.mail.internal.outbox.HeaderBlock.MalformedMessageException;
import io.uplink.mail.internal.store.Maildir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pickup folder: any RFC 5322 file dropped there is queued (envelope from Sender/From and
 * To/Cc/Bcc, Bcc stripped) and then removed. A file that is not mail is moved to {@code rejected/} with a
 * {@code .reason} file beside it, never deleted. Files whose name starts with a dot are ignored (write
 * there, then rename), and a file is taken only when its size and time did not change since the previous
 * scan, so a file still being copied in is not taken half-written.
 *
 * <p>The files of one scan (up to {@value #GROUP} of up to 1 MiB each at a time) are group-committed into one
 * batch file with one fsync, as submitted mail is; a file is removed only after that fsync.
 */
public final class Pickup {

    private static final Logger LOG = LoggerFactory.getLogger(Pickup.class);
    /** Files up to this size are read into memory and group-committed; larger ones are streamed one by one. */
    private static final long MAX_IN_GROUP = 1L << 20;
    private static final int GROUP = 256;
    private static final long GROUP_BYTES = 16L << 20;

    private final Path dir;
    private final Path rejected;
    private final OutboxStore outbox;
    private final Map<Path, String> seen = new HashMap<>();

    public Pickup(Path dir, OutboxStore outbox) throws IOException {
        this.dir = dir;
        this.rejected = dir.resolve("rejected");
        this.outbox = outbox;
        Files.createDirectories(dir);
    }

    /** The folder. */
    public Path dir() {
        return dir;
    }

    /** Where files that are not mail are moved. */
    public Path rejectedDir() {
        return rejected;
    }

    /** Looks once; returns how many files were queued. */
    public synchronized int scan() {
        int queued = 0;
        Map<Path, String> now = new HashMap<>();
        List<Path> stable = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(f, BasicFileAttributes.class);
                } catch (IOException gone) {
                    continue;
                }
                if (!a.isRegularFile()) {
                    continue;
                }
                String stamp = a.size() + "@" + a.lastModifiedTime().toMillis();
                if (!stamp.equals(seen.get(f))) {
                    now.put(f, stamp);
                    continue;
                }
                stable.add(f);
            }
        } catch (IOException e) {
            LOG.error("Cannot read the pickup folder {}: {}", dir, e.toString());
        }
        seen.clear();
        seen.putAll(now);
        List<Taken> group = new ArrayList<>();
        long bytes = 0;
        for (Path f : stable) {
            long size;
            try {
                size = Files.size(f);
            } catch (IOException gone) {
                continue;
            }
            if (size > MAX_IN_GROUP) {
                // large: streamed through a file of its own (four fsyncs), not held in memory
                if (take(f)) {
                    queued++;
                }
                continue;
            }
            Taken t = read(f);
            if (t == null) {
                continue;
            }
            group.add(t);
            bytes += t.prepared().body().length;
            if (group.size() >= GROUP || bytes >= GROUP_BYTES) {
                queued += commit(group);
                group.clear();
                bytes = 0;
            }
        }
        if (!group.isEmpty()) {
            queued += commit(group);
        }
        return queued;
    }

    private record Taken(Path file, FileOutbox.Prepared prepared) {
    }

    /** The file read and checked, or {@code null} when it is not mail (moved to rejected/) or unreadable. */
    private Taken read(Path f) {
        try {
            byte[] bytes = Files.readAllBytes(f);
            return new Taken(f, outbox.prepare(null, List.of(), bytes));
        } catch (MalformedMessageException e) {
            reject(f, e.getMessage());
        } catch (IOException e) {
            LOG.error("Cannot queue {} from the pickup folder: {}; it stays there", f, e.toString());
        }
        return null;
    }

    /**
     * One batch file and one fsync for the whole group ({@link IntakeBatches}); only once that returned are the
     * pickup files removed, so a crash in between queues them again (twice at most), never loses them.
     */
    private int commit(List<Taken> group) {
        List<FileOutbox.Prepared> prepared = new ArrayList<>(group.size());
        group.forEach(t -> prepared.add(t.prepared()));
        try {
            outbox.commit(prepared);
        } catch (IOException e) {
            LOG.error("Cannot queue {} file(s) from the pickup folder: {}; they stay there", group.size(), e.toString());
            return 0;
        }
        int n = 0;
        for (Taken t : group) {
            try {
                Files.delete(t.file());
                n++;
                LOG.info("Queued {} from the pickup folder as {} (from <{}> to {})", t.file().getFileName(),
                        t.prepared().entry().id, t.prepared().entry().from, t.prepared().entry().recipients.keySet());
            } catch (IOException e) {
                LOG.error("Queued {} from the pickup folder as {} but cannot remove it ({}); it will be queued again",
                        t.file(), t.prepared().entry().id, e.toString());
            }
        }
        return n;
    }

    private boolean take(Path f) {
        try (InputStream in = Files.newInputStream(f)) {
            QueuedMessage m = outbox.queueOrReject(null, List.of(), in);
            Files.delete(f);
            LOG.info("Queued {} from the pickup folder as {} (from <{}> to {})", f.getFileName(), m.id(), m.from(), m.pending());
            return true;
        } catch (MalformedMessageException e) {
            reject(f, e.getMessage());
        } catch (IOException e) {
            LOG.error("Cannot queue {} from the pickup folder: {}; it stays there", f, e.toString());
        }
        return false;
    }

    private void reject(Path f, String reason) {
        try {
            Files.createDirectories(rejected);
            Path target = rejected.resolve(f.getFileName());
            if (Files.exists(target)) {
                target = rejected.resolve(f.getFileName() + "." + System.currentTimeMillis());
            }
            Path why = rejected.resolve(target.getFileName() + ".reason");
            Files.writeString(why, "Not queued at " + Instant.now() + ": " + reason + System.lineSeparator(),
                    StandardCharsets.UTF_8);
            FileOutbox.move(f, target);
            Maildir.force(rejected);
            LOG.warn("Pickup file {} is not mail ({}); moved to {}", f.getFileName(), reason, target);
        } catch (IOException e) {
            LOG.error("Pickup file {} is not mail ({}) and cannot be moved aside: {}", f, reason, e.toString());
        }
    }
}
