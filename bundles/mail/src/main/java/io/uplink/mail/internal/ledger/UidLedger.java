package io.uplink.mail.internal.ledger;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

import io.uplink.mail.internal.store.Fsyncs;
import io.uplink.mail.internal.store.Maildir;

/**
 * The file store of the UID ledger (the single-node default; {@link JdbcLedger} is the cluster's): the durable
 * record of which server messages one collector has already stored, so nothing is collected twice. One file per
 * collector, a journal: records are only ever appended, one line each, and the file is
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
 * without its {@code S} is settled by looking into those mailboxes (see {@link Ledger#inMailboxes}): in none, it
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
public final class UidLedger extends TableLedger<UidLedger.State> {

    static final String HEADER = "uplink-ledger 2";
    private static final byte[] HEADER_BYTES = HEADER.getBytes(StandardCharsets.US_ASCII);

    /** Called at each step of a compaction; a test copies the files there, as a kill would leave them. */
    @FunctionalInterface
    interface Steps {
        void at(String step) throws IOException;
    }

    private final Path file;
    private final Steps steps;
    private FileChannel append;
    /**
     * Whether a record that must reach the disk before the server is told anything (P, S, D, X, N, V) was
     * written since the last force. G, F, L and H alone are not forced: a later firing derives them again.
     */
    private boolean unforced;
    /**
     * The force of the folder of the file this ledger created (its entry there), under way on another thread;
     * the next {@link #sync()} waits for it.
     */
    private Future<?> created;

    private UidLedger(Path file, State s, Steps steps) {
        super(s);
        this.file = file;
        this.steps = steps;
    }

    /** What the file holds. */
    static final class State extends TableLedger.Memory {
        final Map<String, Pending> pending = new LinkedHashMap<>();
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
        // File.exists is a plain stat; deleteIfExists of a file that is not there (every open but after a kill
        // mid-compaction) costs a failed unlink and an exception
        if (temp(file).toFile().exists()) {
            Files.deleteIfExists(temp(file));
        }
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
                    s.voidOthers();
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
                        s.voidOthers();
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

    @Override
    void recordStored(Map<String, Long> batch, long t) throws IOException {
        StringBuilder lines = new StringBuilder(batch.size() * 32);
        for (Map.Entry<String, Long> b : batch.entrySet()) {
            lines.append(storedLine(b.getKey(), b.getValue(), t));
        }
        write(lines.toString());
    }

    @Override
    void recordDeleted(int[] entries, int n, long t) throws IOException {
        StringBuilder lines = new StringBuilder(n * 40);
        for (int k = 0; k < n; k++) {
            lines.append("D ").append(s.table.escaped(entries[k])).append(' ').append(t).append('\n');
        }
        write(lines.toString());
    }

    /** F and G lines, then L: not forced (a later listing derives them again). */
    @Override
    void recordListing(int[] entries, int n, List<String> oversizedGone, long t) throws IOException {
        UidTable table = s.table;
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < n; k++) {
            int i = entries[k];
            if (table.isLive(i)) {
                out.append("G ").append(table.escaped(i)).append(' ').append(table.gone(i)).append('\n');
            } else {
                out.append("F ").append(table.escaped(i)).append('\n');
            }
        }
        for (String uid : oversizedGone) {
            out.append("F ").append(escape(uid)).append('\n');
        }
        out.append("L ").append(t).append('\n');
        write(out.toString(), false);
    }

    @Override
    void recordForgotten(int[] entries, int n) throws IOException {
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < n; k++) {
            out.append("F ").append(s.table.escaped(entries[k])).append('\n');
        }
        write(out.toString(), false);
    }

    @Override
    void recordOversized(Oversized o) throws IOException {
        write("X " + escape(o.uid()) + " " + o.size() + " " + o.seen() + "\n");
    }

    @Override
    void recordValidity(long validity) throws IOException {
        write("V " + validity + "\n");
    }

    /** Not forced on its own: a lost mark only makes the next firing ask from an older one. */
    @Override
    void recordHandled(long uid) throws IOException {
        write("H " + uid + "\n", false);
    }

    @Override
    public void intend(String uid, long size, String unique, List<String> mailboxes) throws IOException {
        write("P " + escape(uid) + " " + size + " " + unique + " " + String.join(",", mailboxes) + "\n");
    }

    private String storedLine(String uid, long size, long t) {
        String line = "S " + escape(uid) + " " + size + "\n";
        if (t != s.time) {
            s.time = t;
            return "T " + t + "\n" + line;
        }
        return line;
    }

    @Override
    public void sync() throws IOException {
        if (append != null && unforced) {
            append.force(false);
            unforced = false;
        }
        if (created != null) {
            Fsyncs.await(created, "the folder of the new ledger " + file);
            created = null;
        }
    }

    private void write(String lines) throws IOException {
        write(lines, true);
    }

    /** Appends {@code lines}; {@code force}: whether {@link #sync()} must force them. */
    private void write(String lines, boolean force) throws IOException {
        unforced |= force;
        if (append == null) {
            if (!Files.isDirectory(file.getParent())) {
                Files.createDirectories(file.getParent());
            }
            boolean fresh = !Files.exists(file) || Files.size(file) == 0;
            append = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            if (fresh) {
                lines = HEADER + "\n" + lines;
                // a new file's name is durable once its folder is forced; that runs while the run goes on
                created = Fsyncs.folderLater(file.getParent());
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
}
