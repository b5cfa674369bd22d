package io.uplink.mail.internal.ledger;

import java.io.ByteArrayOutputStream;
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
 * twice. One file per collector, a journal: records are only ever appended, one line each, and the file is
 * rewritten (compacted) only when it holds half as many records again as it has entries. Format 2 (the
 * first line says {@code uplink-ledger 2}):
 * <pre>
 * T millis                               the time of the S records that follow
 * S uid size                             uid is stored in the local mailboxes (at the current T)
 * P uid size unique mailbox[,mailbox]    about to deliver uid as Maildir file "unique"
 * N uid                                  the pending delivery of uid never happened (settled after a crash)
 * D uid millis                           the server confirmed deleting uid
 * G uid millis                           uid was missing from a listing; it was last seen at millis
 * F uid                                  uid is forgotten (gone for the expiry time, reused, or void)
 * X uid size seen-millis                 uid is larger than maxMessageSize: left on the server, reported once
 * L millis                               when the server's full list was last looked at (POP3)
 * V uidvalidity                          IMAP: entries keyed under another UIDVALIDITY are void
 * H uid                                  IMAP: every UID up to this one (under V) has been handled
 * </pre>
 * With 16-character UIDs an entry takes about 25 bytes on disk and 40 in memory ({@link UidTable}).
 * A firing writes only what changed: the messages it stored or deleted, UIDs that went missing, the time
 * of the listing. Format 1 (no first line; {@code S uid size stored lastSeen [deleted]}) is read and
 * rewritten as format 2 on open.
 *
 * <p>A {@code P} line is written before the message is delivered, an {@code S} line once the delivery is
 * durable, that is once the file is in every mailbox the message is routed to. After a crash a {@code P}
 * without its {@code S} is settled by looking into those mailboxes (see {@link #inMailboxes}): in none, it
 * is collected again; in some, the missing copies are made from one that is there. So a kill at any instant
 * neither loses nor duplicates a message in any mailbox. A line counts only with its newline: a kill
 * mid-append leaves one torn last line, which the next open cuts off. Compaction writes a temp file, forces
 * it, renames it over the journal and forces the directory, so a kill at any point leaves either the old
 * journal or the new one, both holding the same entries.
 *
 * <p>Entries that have been gone from the server for the expiry time are dropped, so a server that reuses
 * UIDs does not block new mail for ever. "Gone" needs a listing that did not show the entry: a collector that
 * simply did not run for a month forgets nothing.
 *
 * <p>An {@code X} record is a message skipped for its size: the firing that first sees it reports it, later
 * firings pass it by quietly (it stays visible through {@link #oversized()} and {@link #readOversized(Path)}),
 * and the record goes when the message is gone from the server or has been stored after all.
 */
public final class UidLedger implements Closeable {

    static final String HEADER = "uplink-ledger 2";
    private static final byte[] HEADER_BYTES = HEADER.getBytes(StandardCharsets.US_ASCII);

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

    /** Called at each step of a compaction; a test copies the files there, as a kill would leave them. */
    @FunctionalInterface
    interface Steps {
        void at(String step) throws IOException;
    }

    private final Path file;
    private final State s;
    private final Steps steps;
    private FileChannel append;
    /**
     * Whether a record that must reach the disk before the server is told anything (P, S, D, X, N, V) was
     * written since the last force. G, F, L and H alone are not forced: a later firing derives them again.
     */
    private boolean unforced;

    private UidLedger(Path file, State s, Steps steps) {
        this.file = file;
        this.s = s;
        this.steps = steps;
    }

    /** What the file holds. */
    private static final class State {
        UidTable table;
        final Map<String, Pending> pending = new LinkedHashMap<>();
        final Map<String, Oversized> oversized = new LinkedHashMap<>();
        long listing;
        long validity;
        long watermark;
        /** The T the next S record is under. */
        long time = -1;
        /** Lines after the header (for when to compact). */
        long records;
        boolean current;
        /** Where the last whole line ends. */
        long whole;
        long length;
    }

    /**
     * Reads the ledger (an absent file is an empty ledger), settles deliveries an earlier run left open,
     * cuts off a torn last line, and compacts the file when it has grown (or is in format 1).
     */
    public static UidLedger open(Path file, Instant now, Settle settle) throws IOException {
        return open(file, now, settle, step -> { });
    }

    static UidLedger open(Path file, Instant now, Settle settle, Steps steps) throws IOException {
        State s = read(file, true);
        Files.deleteIfExists(temp(file));
        UidLedger ledger = new UidLedger(file, s, steps);
        if (s.whole < s.length) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(s.whole);
                ch.force(true);
            }
        }
        List<Pending> open = new ArrayList<>(s.pending.values());
        s.pending.clear();
        StringBuilder settled = new StringBuilder();
        long t = now.toEpochMilli();
        for (Pending p : open) {
            if (settle.delivered(p)) {
                settled.append(ledger.storedLine(p.uid(), p.size(), t));
                s.table.put(escape(p.uid()), p.size(), t);
                s.oversized.remove(p.uid());
            } else {
                settled.append("N ").append(escape(p.uid())).append('\n');
            }
        }
        if (!s.current && s.validity == 0) {
            inferValidity(s);
        }
        if (!s.current || s.records > 1000 + (s.table.live() + s.oversized.size()) * 3L / 2) {
            ledger.compact();
        } else if (settled.length() > 0) {
            ledger.write(settled.toString());
        }
        return ledger;
    }

    /** Format 1 kept IMAP entries as UIDVALIDITY/UID without a V line: the newest entry's is the folder's. */
    private static void inferValidity(State s) {
        for (int i = s.table.count() - 1; i >= 0; i--) {
            if (s.table.isLive(i)) {
                String uid = s.table.escaped(i);
                int slash = uid.indexOf('/');
                if (slash > 0 && uid.substring(0, slash).chars().allMatch(Character::isDigit)) {
                    s.validity = Long.parseLong(uid.substring(0, slash));
                    voidOthers(s);
                }
                return;
            }
        }
    }

    /**
     * The messages a collector left on the server for their size, as its ledger file holds them; for a
     * status, while a firing may be appending to the file (a torn last line is simply not there yet).
     */
    public static List<Oversized> readOversized(Path file) throws IOException {
        return List.copyOf(read(file, false).oversized.values());
    }

    private static Path temp(Path file) {
        return file.resolveSibling(file.getFileName() + ".tmp");
    }

    /** Reads the file line by line from one buffer; only P and X lines (rare) become objects. */
    private static State read(Path file, boolean entries) throws IOException {
        State s = new State();
        long bytes = Files.exists(file) ? Files.size(file) : 0;
        // a compacted journal takes 24 to 26 bytes an entry with 16- or 17-character UIDs: presized a little
        // above, so that loading does not grow (copy) the arrays
        s.table = entries ? new UidTable((int) Math.min(bytes / 21, 50_000_000), bytes * 3 / 4) : new UidTable(0);
        s.current = bytes == 0;
        if (bytes == 0) {
            return s;
        }
        List<long[]> formerLastSeen = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            byte[] buf = new byte[64 * 1024];
            int have = 0;
            long offset = 0;
            int[] fields = new int[16];
            while (true) {
                int n = ch.read(ByteBuffer.wrap(buf, have, buf.length - have));
                if (n < 0) {
                    break;
                }
                int scanFrom = have;
                have += n;
                int line = 0;
                for (int k = scanFrom; k < have; k++) {
                    if (buf[k] == '\n') {
                        record(s, buf, line, k, fields, entries, formerLastSeen);
                        line = k + 1;
                    }
                }
                System.arraycopy(buf, line, buf, 0, have - line);
                offset += line;
                have -= line;
                if (have == buf.length) {
                    buf = Arrays.copyOf(buf, buf.length * 2);
                }
            }
            s.whole = offset;
            s.length = offset + have;
        }
        // format 1 kept lastSeen per entry: one before the last listing means missing from it
        for (long[] e : formerLastSeen) {
            if (e[1] < s.listing) {
                s.table.gone((int) e[0], e[1]);
            }
        }
        return s;
    }

    /** Takes in one line {@code b[from, to)}; anything it cannot read is a line that never became true. */
    private static void record(State s, byte[] b, int from, int to, int[] f, boolean entries, List<long[]> formerLastSeen) {
        int n = 0;
        f[n++] = from;
        for (int k = from; k < to && n < f.length - 1; k++) {
            if (b[k] == ' ') {
                f[n++] = k + 1;
            }
        }
        f[n] = to + 1;
        int fieldCount = n;
        if (to - from == HEADER.length() && Arrays.equals(b, from, to, HEADER_BYTES, 0, HEADER_BYTES.length)) {
            s.current = true;
            return;
        }
        if (f[1] - f[0] != 2) {
            return;
        }
        s.records++;
        try {
            char type = (char) b[from];
            int uidOff = f[1];
            int uidLen = f[2] - f[1] - 1;
            switch (type) {
                case 'T' -> {
                    if (fieldCount == 2) {
                        s.time = number(b, f[1], f[2] - 1);
                    }
                }
                case 'S' -> {
                    if (fieldCount == 3 || fieldCount == 5 || fieldCount == 6) {
                        long size = number(b, f[2], f[3] - 1);
                        long stored = fieldCount == 3 ? s.time : number(b, f[3], f[4] - 1);
                        long lastSeen = fieldCount == 3 ? stored : number(b, f[4], f[5] - 1);
                        long deleted = fieldCount == 6 ? number(b, f[5], f[6] - 1) : 0;
                        if (entries) {
                            int i = s.table.put(b, uidOff, uidLen, size, stored);
                            if (deleted > 0) {
                                s.table.deleted(i, deleted);
                            }
                            if (fieldCount > 3) {
                                formerLastSeen.add(new long[] {i, lastSeen});
                            }
                        }
                        settledAt(s, b, uidOff, uidLen);
                    }
                }
                case 'D', 'G' -> {
                    if (fieldCount == 3 && entries) {
                        int i = s.table.find(b, uidOff, uidLen);
                        if (i >= 0 && s.table.isLive(i)) {
                            long t = number(b, f[2], f[3] - 1);
                            if (type == 'D') {
                                s.table.deleted(i, t);
                            } else {
                                s.table.gone(i, t);
                            }
                        }
                    }
                }
                case 'F' -> {
                    if (fieldCount == 2) {
                        int i = entries ? s.table.find(b, uidOff, uidLen) : -1;
                        if (i >= 0) {
                            s.table.kill(i);
                        }
                        settledAt(s, b, uidOff, uidLen);
                    }
                }
                case 'N' -> {
                    if (fieldCount == 2 && !s.pending.isEmpty()) {
                        s.pending.remove(uid(b, uidOff, uidLen));
                    }
                }
                case 'X' -> {
                    if (fieldCount == 4) {
                        String uid = uid(b, uidOff, uidLen);
                        s.oversized.put(uid, new Oversized(uid, number(b, f[2], f[3] - 1), number(b, f[3], f[4] - 1)));
                    }
                }
                case 'P' -> {
                    if (fieldCount == 5) {
                        String uid = uid(b, uidOff, uidLen);
                        String unique = new String(b, f[3], f[4] - f[3] - 1, StandardCharsets.UTF_8);
                        String boxes = new String(b, f[4], f[5] - f[4] - 1, StandardCharsets.UTF_8);
                        s.pending.put(uid, new Pending(uid, number(b, f[2], f[3] - 1), unique, Arrays.asList(boxes.split(","))));
                    }
                }
                case 'L' -> {
                    if (fieldCount == 2) {
                        s.listing = number(b, f[1], f[2] - 1);
                    }
                }
                case 'V' -> {
                    if (fieldCount == 2) {
                        s.validity = number(b, f[1], f[2] - 1);
                        s.watermark = 0;
                        voidOthers(s);
                    }
                }
                case 'H' -> {
                    if (fieldCount == 2) {
                        s.watermark = number(b, f[1], f[2] - 1);
                    }
                }
                default -> {
                    // not a record
                }
            }
        } catch (NumberFormatException torn) {
            // a line that never became true
        }
    }

    /** An S or F line ends a pending delivery and an oversized mention of the UID. */
    private static void settledAt(State s, byte[] b, int off, int len) {
        if (!s.pending.isEmpty() || !s.oversized.isEmpty()) {
            String uid = uid(b, off, len);
            s.pending.remove(uid);
            s.oversized.remove(uid);
        }
    }

    private static String uid(byte[] b, int off, int len) {
        return unescape(new String(b, off, len, StandardCharsets.ISO_8859_1));
    }

    private static long number(byte[] b, int from, int to) {
        if (from >= to || to - from > 18) {
            throw new NumberFormatException();
        }
        long v = 0;
        boolean negative = b[from] == '-';
        for (int k = negative ? from + 1 : from; k < to; k++) {
            int d = b[k] - '0';
            if (d < 0 || d > 9) {
                throw new NumberFormatException();
            }
            v = v * 10 + d;
        }
        return negative ? -v : v;
    }

    /** Entries keyed under another UIDVALIDITY than the state's are void. */
    private static void voidOthers(State s) {
        String prefix = s.validity + "/";
        for (int i = 0; i < s.table.count(); i++) {
            if (s.table.isLive(i) && !s.table.startsWith(i, prefix)) {
                s.table.kill(i);
            }
        }
        s.oversized.keySet().removeIf(u -> !u.startsWith(prefix));
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
        int i = s.table.find(escape(uid));
        if (i < 0 || !s.table.isLive(i)) {
            return null;
        }
        long gone = s.table.gone(i);
        return new Entry(uid, s.table.size(i), s.table.stored(i),
                gone > 0 ? gone : Math.max(s.listing, s.table.stored(i)), s.table.deleted(i));
    }

    /**
     * When {@code uid} was stored, if it is ours: known, not deleted on the server, and of this size (a size
     * below 0 is unknown and matches). Otherwise -1: a new message, or the server reusing the UID.
     * Allocates nothing for an ordinary UID, as it is asked once per message on the server.
     */
    public long collectedAt(String uid, long size) {
        int i = s.table.find(escape(uid));
        if (i < 0 || !s.table.isLive(i) || s.table.deleted(i) > 0 || size >= 0 && s.table.size(i) != size) {
            return -1;
        }
        return s.table.stored(i);
    }

    /** How many entries the ledger holds. */
    public int size() {
        return s.table.live();
    }

    /**
     * Takes in the server's full list (POP3): forgets UIDs that were missing from the last listing and are
     * back (the server reuses them for new messages), notes those that are missing now, drops entries gone
     * from the server for longer than {@code expiry}. Appends only what changed.
     */
    public void refresh(java.util.Collection<String> onServer, Instant now, Duration expiry) throws IOException {
        Listing listing = listing();
        for (String uid : onServer) {
            listing.seen(uid, -1);
        }
        listing.finish(now, expiry);
    }

    /** Starts taking in the server's full list one message at a time (see {@link Listing}). */
    public Listing listing() {
        return new Listing();
    }

    /**
     * The server's full list (POP3), taken in one message at a time as it is read, so that a list of 100,000
     * known messages makes no object per message; then {@link #finish} does what {@link #refresh} does.
     */
    public final class Listing {
        private final long[] present = new long[(s.table.count() + 63) >>> 6];
        private final java.util.Set<String> oversizedPresent = new java.util.HashSet<>();

        private Listing() {
        }

        /**
         * One listed message. Returns when it was stored if it is ours, as {@link #collectedAt} will answer
         * after {@link #finish}; -1 for a new message (also a UID that is back after missing from a listing:
         * the server reuses it). {@code uid} is only read during the call.
         */
        public long seen(CharSequence uid, long size) {
            if (!s.oversized.isEmpty()) {
                String u = uid.toString();
                if (s.oversized.containsKey(u)) {
                    oversizedPresent.add(u);
                }
            }
            int i = s.table.find(plain(uid) ? uid : escape(uid.toString()));
            if (i < 0 || !s.table.isLive(i)) {
                return -1;
            }
            present[i >>> 6] |= 1L << i;
            if (s.table.gone(i) > 0 || s.table.deleted(i) > 0 || size >= 0 && s.table.size(i) != size) {
                return -1;
            }
            return s.table.stored(i);
        }

        /** Ends the listing: forgets, notes as missing and drops entries as {@link #refresh} says. Not forced. */
        public void finish(Instant now, Duration expiry) throws IOException {
            long t = now.toEpochMilli();
            long limit = t - expiry.toMillis();
            long previous = s.listing;
            UidTable table = s.table;
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < table.count(); i++) {
                if (!table.isLive(i)) {
                    continue;
                }
                boolean listed = (present[i >>> 6] & (1L << i)) != 0;
                long gone = table.gone(i);
                long lastSeen = gone > 0 ? gone : Math.max(previous, table.stored(i));
                if (gone > 0 && listed || !listed && lastSeen < limit) {
                    // back after missing from a listing: the server reuses the UID for new mail; or gone for good
                    table.kill(i);
                    out.append("F ").append(table.escaped(i)).append('\n');
                } else if (!listed && gone == 0) {
                    table.gone(i, lastSeen);
                    out.append("G ").append(table.escaped(i)).append(' ').append(lastSeen).append('\n');
                }
            }
            // a skipped message someone removed from the server needs no more mention
            for (String uid : new ArrayList<>(s.oversized.keySet())) {
                if (!oversizedPresent.contains(uid)) {
                    s.oversized.remove(uid);
                    out.append("F ").append(escape(uid)).append('\n');
                }
            }
            s.listing = t;
            out.append("L ").append(t).append('\n');
            write(out.toString(), false);
        }
    }

    /** IMAP: the UIDVALIDITY the entries are keyed under (0: none yet). */
    public long validity() {
        return s.validity;
    }

    /** IMAP: every UID up to this one has been handled (stored or recorded as too large). */
    public long handledUpTo() {
        return s.watermark;
    }

    /** IMAP: the folder has this UIDVALIDITY now; entries keyed under another one are void. Not forced. */
    public void validity(long validity) throws IOException {
        s.validity = validity;
        s.watermark = 0;
        voidOthers(s);
        write("V " + validity + "\n");
    }

    /** IMAP: every UID up to {@code uid} has been handled. Not forced. */
    public void handledUpTo(long uid) throws IOException {
        if (uid != s.watermark) {
            s.watermark = uid;
            // not forced on its own: a lost mark only makes the next firing ask from an older one
            write("H " + uid + "\n", false);
        }
    }

    /**
     * IMAP: the live entries under {@code prefix} (UIDVALIDITY/) stored for at least {@code keep} and not
     * yet deleted on the server, found without asking the server for its whole list.
     */
    public List<String> due(String prefix, Duration keep, Instant now) {
        long limit = now.toEpochMilli() - keep.toMillis();
        List<String> out = new ArrayList<>();
        UidTable table = s.table;
        for (int i = 0; i < table.count(); i++) {
            if (table.isLive(i) && table.deleted(i) == 0 && table.stored(i) <= limit && table.startsWith(i, prefix)) {
                out.add(unescape(table.escaped(i)));
            }
        }
        return out;
    }

    /**
     * IMAP, which never gives a UID twice under one UIDVALIDITY: forgets entries the server confirmed
     * deleting more than {@code expiry} ago. Not forced.
     */
    public void forgetDeleted(Instant now, Duration expiry) throws IOException {
        long limit = now.toEpochMilli() - expiry.toMillis();
        StringBuilder out = new StringBuilder();
        UidTable table = s.table;
        for (int i = 0; i < table.count(); i++) {
            long d = table.isLive(i) ? table.deleted(i) : 0;
            if (d > 0 && d < limit) {
                table.kill(i);
                out.append("F ").append(table.escaped(i)).append('\n');
            }
        }
        if (out.length() > 0) {
            write(out.toString(), false);
        }
    }

    /** Whether {@code uid} of this size was already recorded as too large (and so already reported). */
    public boolean knownOversized(String uid, long size) {
        Oversized o = s.oversized.get(uid);
        return o != null && o.size() == size;
    }

    /** Records that {@code uid} was left on the server for its size. Not forced. */
    public void oversized(String uid, long size, Instant now) throws IOException {
        long t = now.toEpochMilli();
        s.oversized.put(uid, new Oversized(uid, size, t));
        write("X " + escape(uid) + " " + size + " " + t + "\n");
    }

    /** The messages left on the server for their size. */
    public List<Oversized> oversized() {
        return List.copyOf(s.oversized.values());
    }

    /** Records that {@code uid} is about to be delivered as Maildir file {@code unique}. Not forced. */
    public void intend(String uid, long size, String unique, List<String> mailboxes) throws IOException {
        write("P " + escape(uid) + " " + size + " " + unique + " " + String.join(",", mailboxes) + "\n");
    }

    /** Records that {@code uid} is durably stored. Not forced: call {@link #sync()} before deleting it. */
    public void stored(String uid, long size, Instant now) throws IOException {
        long t = now.toEpochMilli();
        String line = storedLine(uid, size, t);
        s.table.put(escape(uid), size, t);
        s.oversized.remove(uid);
        write(line);
    }

    private String storedLine(String uid, long size, long t) {
        String line = "S " + escape(uid) + " " + size + "\n";
        if (t != s.time) {
            s.time = t;
            return "T " + t + "\n" + line;
        }
        return line;
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
        StringBuilder lines = new StringBuilder(batch.size() * 32);
        for (Map.Entry<String, Long> b : batch.entrySet()) {
            String uid = b.getKey();
            long size = b.getValue();
            lines.append(storedLine(uid, size, t));
            s.table.put(escape(uid), size, t);
            s.oversized.remove(uid);
        }
        write(lines.toString());
    }

    /** Records that the server confirmed deleting {@code uid}. Not forced. */
    public void deleted(String uid, Instant now) throws IOException {
        String e = escape(uid);
        int i = s.table.find(e);
        if (i >= 0 && s.table.isLive(i)) {
            long t = now.toEpochMilli();
            s.table.deleted(i, t);
            write("D " + e + " " + t + "\n");
        }
    }

    /** Forces what was recorded to disk. */
    public void sync() throws IOException {
        if (append != null && unforced) {
            append.force(false);
            unforced = false;
        }
    }

    private void write(String lines) throws IOException {
        write(lines, true);
    }

    /** Appends {@code lines}; {@code force}: whether {@link #sync()} must force them. */
    private void write(String lines, boolean force) throws IOException {
        unforced |= force;
        if (append == null) {
            Files.createDirectories(file.getParent());
            boolean fresh = !Files.exists(file) || Files.size(file) == 0;
            append = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            if (fresh) {
                lines = HEADER + "\n" + lines;
            }
        }
        for (int k = 0; k < lines.length(); k++) {
            if (lines.charAt(k) == '\n') {
                s.records++;
            }
        }
        // one write per call: a kill leaves whole lines and at most one torn last line, never a mix
        ByteBuffer b = ByteBuffer.wrap(lines.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            append.write(b);
        }
    }

    /**
     * Rewrites the journal as one record per entry: temp file, forced, renamed over the journal, directory
     * forced. A kill at any step leaves the old journal or the new one, never a mix.
     */
    private void compact() throws IOException {
        closeAppend();
        Files.createDirectories(file.getParent());
        Path temp = temp(file);
        long records = 0;
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256 * 1024);
            line(out, HEADER);
            if (s.listing > 0) {
                line(out, "L " + s.listing);
                records++;
            }
            if (s.validity > 0) {
                line(out, "V " + s.validity);
                records++;
            }
            if (s.watermark > 0) {
                line(out, "H " + s.watermark);
                records++;
            }
            UidTable old = s.table;
            UidTable fresh = new UidTable(old.live());
            long time = -1;
            boolean partial = false;
            for (int i = 0; i < old.count(); i++) {
                if (!old.isLive(i)) {
                    continue;
                }
                if (old.stored(i) != time) {
                    time = old.stored(i);
                    line(out, "T " + time);
                    records++;
                }
                out.write('S');
                out.write(' ');
                old.escapedTo(i, out);
                line(out, " " + old.size(i));
                records++;
                int j = fresh.put(old.escaped(i), old.size(i), old.stored(i));
                fresh.deleted(j, old.deleted(i));
                fresh.gone(j, old.gone(i));
                if (out.size() >= 128 * 1024) {
                    flush(ch, out);
                    if (!partial) {
                        partial = true;
                        steps.at("temp-partial");
                    }
                }
            }
            for (int j = 0; j < fresh.count(); j++) {
                if (fresh.deleted(j) > 0) {
                    line(out, "D " + fresh.escaped(j) + " " + fresh.deleted(j));
                    records++;
                }
                if (fresh.gone(j) > 0) {
                    line(out, "G " + fresh.escaped(j) + " " + fresh.gone(j));
                    records++;
                }
            }
            for (Oversized o : s.oversized.values()) {
                line(out, "X " + escape(o.uid()) + " " + o.size() + " " + o.seen());
                records++;
            }
            flush(ch, out);
            steps.at("temp-written");
            ch.force(true);
            s.table = fresh;
        }
        steps.at("temp-forced");
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        steps.at("renamed");
        Maildir.force(file.getParent());
        steps.at("directory-forced");
        s.records = records;
        s.time = -1;
        s.current = true;
    }

    private static void line(ByteArrayOutputStream out, String text) {
        out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
        out.write('\n');
    }

    private static void flush(FileChannel ch, ByteArrayOutputStream out) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
        while (b.hasRemaining()) {
            ch.write(b);
        }
        out.reset();
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
        int k = 0;
        while (k < uid.length() && plain(uid.charAt(k))) {
            k++;
        }
        if (k == uid.length()) {
            // the usual case, asked once per message on the server: no copy
            return uid;
        }
        StringBuilder b = new StringBuilder(uid.length());
        for (int i = 0; i < uid.length(); i++) {
            char c = uid.charAt(i);
            if (!plain(c)) {
                for (byte x : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
                    b.append('%').append(String.format("%02X", x & 0xff));
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean plain(CharSequence uid) {
        for (int k = 0; k < uid.length(); k++) {
            if (!plain(uid.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    private static boolean plain(char c) {
        return c > ' ' && c != '%' && c != ',' && c <= '~';
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
