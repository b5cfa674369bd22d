package io.uplink.mail.internal.ledger;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.uplink.mail.internal.store.Maildir;

/**
 * The durable record of which server messages one collector has already stored, so nothing is collected
 * twice. One text file per collector; each line is one record:
 * <pre>
 * P uid size unique mailbox[,mailbox]    about to deliver uid as Maildir file "unique"
 * S uid size stored-millis lastSeen-millis [deleted-millis]  uid is stored in the local mailboxes
 * D uid millis                           the server confirmed deleting uid
 * X uid size seen-millis                 uid is larger than maxMessageSize: left on the server, reported once
 * L millis                               when the server's list was last looked at
 * </pre>
 * A {@code P} line is written before the message is delivered, an {@code S} line once the delivery is
 * durable, that is once the file is in every mailbox the message is routed to. After a crash a {@code P}
 * without its {@code S} is settled by looking into those mailboxes (see {@link #inMailboxes}): in none, it
 * is collected again; in some, the missing copies are made from one that is there. So a kill at any instant
 * neither loses nor duplicates a message in any mailbox. Each run rewrites the file (temp file, fsync, rename), refreshing when each
 * entry was last seen on the server and dropping entries that have been gone from the server for the
 * expiry time, so a server that reuses UIDs does not block new mail for ever. "Gone" needs a listing
 * that did not show the entry: a collector that simply did not run for a month forgets nothing.
 *
 * <p>An {@code X} record is a message skipped for its size: the firing that first sees it reports it, later
 * firings pass it by quietly (it stays visible through {@link #oversized()} and {@link #readOversized(Path)}),
 * and the record goes when the message is gone from the server or has been stored after all.
 */
public final class UidLedger implements Closeable {

    /** One message the collector has stored. */
    public record Entry(String uid, long size, long stored, long lastSeen, long deleted) {
        /** Whether the server confirmed deleting it (so the UID showing up again is a new message). */
        public boolean deletedOnServer() {
            return deleted > 0;
        }
    }

    /**
     * A message left on the server because it is larger than {@code maxMessageSize}.
     *
     * @param seen when a firing first saw it (epoch millis)
     */
    public record Oversized(String uid, long size, long seen) {
        /** How a status shows it. */
        public String describe(long maxMessageSize) {
            return "message " + uid + " (" + size + " bytes) is larger than maxMessageSize"
                    + (maxMessageSize > 0 ? " (" + maxMessageSize + " bytes)" : "") + "; left on the server since "
                    + Instant.ofEpochMilli(seen);
        }
    }

    /** A delivery that was under way when the last run ended. */
    public record Pending(String uid, long size, String unique, List<String> mailboxes) {
    }

    /** Tells whether a pending delivery completed (its file is in every mailbox it was routed to). */
    @FunctionalInterface
    public interface Settle {
        boolean delivered(Pending pending) throws IOException;
    }

    private final Path file;
    private final Map<String, Entry> entries;
    private final Map<String, Oversized> oversized;
    private long lastListing;
    private FileChannel append;

    private UidLedger(Path file, Map<String, Entry> entries, Map<String, Oversized> oversized, long lastListing) {
        this.file = file;
        this.entries = entries;
        this.oversized = oversized;
        this.lastListing = lastListing;
    }

    /** What the file holds, read without settling or rewriting anything. */
    private record Contents(Map<String, Entry> entries, Map<String, Pending> pending, Map<String, Oversized> oversized,
            long listing) {
    }

    /**
     * Reads the ledger (an absent file is an empty ledger), settles deliveries an earlier run left open,
     * and rewrites the file so it holds only settled entries.
     */
    public static UidLedger open(Path file, Instant now, Settle settle) throws IOException {
        Contents c = read(file);
        Map<String, Entry> entries = c.entries();
        for (Pending p : c.pending().values()) {
            if (settle.delivered(p)) {
                entries.put(p.uid(), new Entry(p.uid(), p.size(), now.toEpochMilli(), now.toEpochMilli(), 0));
                c.oversized().remove(p.uid());
            }
        }
        UidLedger ledger = new UidLedger(file, entries, c.oversized(), c.listing());
        ledger.rewrite();
        return ledger;
    }

    /**
     * The messages a collector left on the server for their size, as its ledger file holds them; for a
     * status, while a firing may be appending to the file (a torn last line is simply not there yet).
     */
    public static List<Oversized> readOversized(Path file) throws IOException {
        return List.copyOf(read(file).oversized().values());
    }

    private static Contents read(Path file) throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, Pending> pending = new LinkedHashMap<>();
        Map<String, Oversized> oversized = new LinkedHashMap<>();
        long listing = 0;
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                try {
                    if ((f.length == 5 || f.length == 6) && f[0].equals("S")) {
                        String uid = unescape(f[1]);
                        entries.put(uid, new Entry(uid, Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                                f.length == 6 ? Long.parseLong(f[5]) : 0));
                        pending.remove(uid);
                        oversized.remove(uid);
                    } else if (f.length == 4 && f[0].equals("X")) {
                        String uid = unescape(f[1]);
                        oversized.put(uid, new Oversized(uid, Long.parseLong(f[2]), Long.parseLong(f[3])));
                    } else if (f.length == 3 && f[0].equals("D")) {
                        String uid = unescape(f[1]);
                        Entry e = entries.get(uid);
                        if (e != null) {
                            entries.put(uid, new Entry(uid, e.size(), e.stored(), e.lastSeen(), Long.parseLong(f[2])));
                        }
                    } else if (f.length == 2 && f[0].equals("L")) {
                        listing = Long.parseLong(f[1]);
                    } else if (f.length == 5 && f[0].equals("P")) {
                        String uid = unescape(f[1]);
                        pending.put(uid, new Pending(uid, Long.parseLong(f[2]), f[3], Arrays.asList(f[4].split(","))));
                    }
                    // anything else is a line torn by a crash mid-write: it never became true
                } catch (NumberFormatException torn) {
                    // same: a torn line
                }
            }
        }
        return new Contents(entries, pending, oversized, listing);
    }

    /**
     * Settles a pending delivery by looking into every mailbox it was routed to. Each mailbox's copy is
     * completed on its own, so a crash can leave the file in some of them only:
     * <ul>
     * <li>in none: not delivered (what is left in {@code tmp/} is removed); the message is collected again;</li>
     * <li>in some: the missing copies are delivered now, from a copy that is there (same unique name, file
     * and directory forced), and then it is delivered;</li>
     * <li>in all: delivered.</li>
     * </ul>
     * The directories holding the copies are forced before the answer, because the crash may have come
     * between a rename and the directory's fsync. A kill during this repair leaves the {@code P} line in
     * place, so the next open simply repeats it; the unique name keeps any mailbox from getting two copies.
     */
    public static Settle inMailboxes(Path mailboxesRoot) {
        return p -> {
            Map<String, Path> held = new LinkedHashMap<>();
            List<String> missing = new ArrayList<>();
            for (String mb : p.mailboxes()) {
                Path dir = mailboxesRoot.resolve(mb);
                Path copy = null;
                if (Files.isDirectory(dir.resolve("new"))) {
                    Maildir m = Maildir.open(dir);
                    copy = m.find(p.unique());
                    if (copy != null) {
                        m.syncAll();
                        m.discardTemporary(p.unique());
                    }
                }
                if (copy != null) {
                    held.put(mb, copy);
                } else {
                    missing.add(mb);
                }
            }
            if (held.isEmpty()) {
                for (String mb : missing) {
                    Path dir = mailboxesRoot.resolve(mb);
                    if (Files.isDirectory(dir.resolve("tmp"))) {
                        Maildir.open(dir).discardTemporary(p.unique());
                    }
                }
                return false;
            }
            Path source = held.values().iterator().next();
            for (String mb : missing) {
                Maildir.open(mailboxesRoot.resolve(mb)).restore(p.unique(), source);
            }
            return true;
        };
    }

    /** The entry for a UID, or {@code null}. */
    public Entry get(String uid) {
        return entries.get(uid);
    }

    /** Whether any stored UID matches (for IMAP, where a UID is kept as {@code UIDVALIDITY/UID}). */
    public boolean anyUid(java.util.function.Predicate<String> p) {
        for (String uid : entries.keySet()) {
            if (p.test(uid)) {
                return true;
            }
        }
        return false;
    }

    /** How many entries the ledger holds. */
    public int size() {
        return entries.size();
    }

    /**
     * Takes in the server's current list: forgets UIDs that were missing from the last listing and are
     * back (the server reuses them for new messages), drops entries gone from the server for longer than
     * {@code expiry}, marks the listed ones as seen, and rewrites the file.
     */
    public void refresh(java.util.Collection<String> onServer, Instant now, Duration expiry) throws IOException {
        long t = now.toEpochMilli();
        long limit = t - expiry.toMillis();
        long previous = lastListing;
        java.util.Set<String> present = new java.util.HashSet<>(onServer);
        // A UID that was missing from the last listing and is back is the server reusing it: new mail.
        // Entries gone for the expiry time are forgotten.
        entries.values().removeIf(e -> e.lastSeen() < previous && present.contains(e.uid())
                || e.lastSeen() < limit && (e.lastSeen() < previous || !present.contains(e.uid())));
        for (String uid : present) {
            Entry e = entries.get(uid);
            if (e != null) {
                entries.put(uid, new Entry(uid, e.size(), e.stored(), t, e.deleted()));
            }
        }
        // a skipped message someone removed from the server needs no more mention
        oversized.keySet().retainAll(present);
        lastListing = t;
        rewrite();
    }

    /** Whether {@code uid} of this size was already recorded as too large (and so already reported). */
    public boolean knownOversized(String uid, long size) {
        Oversized o = oversized.get(uid);
        return o != null && o.size() == size;
    }

    /** Records that {@code uid} was left on the server for its size. Not forced. */
    public void oversized(String uid, long size, Instant now) throws IOException {
        long t = now.toEpochMilli();
        oversized.put(uid, new Oversized(uid, size, t));
        write("X " + escape(uid) + " " + size + " " + t + "\n");
    }

    /** The messages left on the server for their size. */
    public List<Oversized> oversized() {
        return List.copyOf(oversized.values());
    }

    /** Records that {@code uid} is about to be delivered as Maildir file {@code unique}. Not forced. */
    public void intend(String uid, long size, String unique, List<String> mailboxes) throws IOException {
        write("P " + escape(uid) + " " + size + " " + unique + " " + String.join(",", mailboxes) + "\n");
    }

    /** Records that {@code uid} is durably stored. Not forced: call {@link #sync()} before deleting it. */
    public void stored(String uid, long size, Instant now) throws IOException {
        long t = now.toEpochMilli();
        entries.put(uid, new Entry(uid, size, t, t, 0));
        oversized.remove(uid);
        write("S " + escape(uid) + " " + size + " " + t + " " + t + "\n");
    }

    /**
     * Records that the messages of one batch ({@code uid} to size, in order) are durably stored: the same
     * lines as {@link #stored(String, long, Instant)}, written together. Not forced.
     */
    public void stored(Map<String, Long> batch, Instant now) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        long t = now.toEpochMilli();
        StringBuilder lines = new StringBuilder(batch.size() * 48);
        for (Map.Entry<String, Long> b : batch.entrySet()) {
            String uid = b.getKey();
            long size = b.getValue();
            entries.put(uid, new Entry(uid, size, t, t, 0));
            oversized.remove(uid);
            lines.append("S ").append(escape(uid)).append(' ').append(size).append(' ').append(t).append(' ').append(t)
                    .append('\n');
        }
        write(lines.toString());
    }

    /** Records that the server confirmed deleting {@code uid}. Not forced. */
    public void deleted(String uid, Instant now) throws IOException {
        Entry e = entries.get(uid);
        if (e != null) {
            long t = now.toEpochMilli();
            entries.put(uid, new Entry(uid, e.size(), e.stored(), e.lastSeen(), t));
            write("D " + escape(uid) + " " + t + "\n");
        }
    }

    /** Forces what was recorded to disk. */
    public void sync() throws IOException {
        if (append != null) {
            append.force(false);
        }
    }

    private void write(String line) throws IOException {
        if (append == null) {
            append = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        }
        // one write per line (or per batch of lines): a kill leaves whole lines or one torn last line, never a mix
        ByteBuffer b = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            append.write(b);
        }
    }

    private void rewrite() throws IOException {
        closeAppend();
        Files.createDirectories(file.getParent());
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        List<String> lines = new ArrayList<>(entries.size() + 1);
        if (lastListing > 0) {
            lines.add("L " + lastListing);
        }
        for (Entry e : entries.values()) {
            lines.add("S " + escape(e.uid()) + " " + e.size() + " " + e.stored() + " " + e.lastSeen()
                    + (e.deletedOnServer() ? " " + e.deleted() : ""));
        }
        for (Oversized o : oversized.values()) {
            lines.add("X " + escape(o.uid()) + " " + o.size() + " " + o.seen());
        }
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap((String.join("\n", lines) + (lines.isEmpty() ? "" : "\n"))
                    .getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        Maildir.force(file.getParent());
    }

    private void closeAppend() throws IOException {
        if (append != null) {
            append.close();
            append = null;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            sync();
        } finally {
            closeAppend();
        }
    }

    /** UIDs are printable ASCII per RFC 1939, but a hostile server must not break a line apart. */
    static String escape(String uid) {
        StringBuilder b = new StringBuilder(uid.length());
        for (int i = 0; i < uid.length(); i++) {
            char c = uid.charAt(i);
            if (c <= ' ' || c == '%' || c == ',' || c > '~') {
                for (byte x : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
                    b.append('%').append(String.format("%02X", x & 0xff));
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static String unescape(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
