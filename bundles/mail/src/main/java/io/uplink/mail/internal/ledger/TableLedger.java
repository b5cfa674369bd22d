package io.uplink.mail.internal.ledger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What both ledger stores share: the collector's entries held in memory as a {@link UidTable} (loaded when the
 * ledger is opened, so a listing of 100,000 known messages asks the store nothing) and every answer worked out
 * from them. A change is made in memory first and then handed to the store's {@code record…} method, which makes
 * it durable its own way: a journal line ({@link UidLedger}) or a row ({@link JdbcLedger}).
 *
 * @param <S> what the store keeps beside the entries
 */
abstract class TableLedger<S extends TableLedger.Memory> implements Ledger {

    /** The ledger's state in memory. */
    static class Memory {
        UidTable table;
        final Map<String, Oversized> oversized = new LinkedHashMap<>();
        /** When the server's full list was last looked at (POP3). */
        long listing;
        long validity;
        long watermark;

        /** Entries keyed under another UIDVALIDITY than {@link #validity} are void. */
        void voidOthers() {
            String prefix = validity + "/";
            for (int i = 0; i < table.count(); i++) {
                if (table.isLive(i) && !table.startsWith(i, prefix)) {
                    table.kill(i);
                }
            }
            oversized.keySet().removeIf(u -> !u.startsWith(prefix));
        }
    }

    final S s;

    TableLedger(S s) {
        this.s = s;
    }

    /** Records entries now stored ({@code uid} to size, in order), all at {@code t}. */
    abstract void recordStored(Map<String, Long> batch, long t) throws IOException;

    /** Records that the server confirmed deleting the first {@code n} {@code entries} at {@code t}. */
    abstract void recordDeleted(int[] entries, int n, long t) throws IOException;

    /**
     * Records what a listing at {@code t} changed: {@code entries[0, n)} were forgotten (dead now) or noted as
     * missing (live, {@link UidTable#gone} set), in order; {@code oversizedGone} are no longer on the server.
     */
    abstract void recordListing(int[] entries, int n, List<String> oversizedGone, long t) throws IOException;

    /** Records that {@code entries[0, n)} are forgotten. */
    abstract void recordForgotten(int[] entries, int n) throws IOException;

    abstract void recordOversized(Oversized o) throws IOException;

    /** Records a new UIDVALIDITY (the mark is 0 and the other entries void, as {@link Memory#voidOthers} left them). */
    abstract void recordValidity(long validity) throws IOException;

    abstract void recordHandled(long uid) throws IOException;

    @Override
    public Entry get(String uid) {
        int i = s.table.find(escape(uid));
        if (i < 0 || !s.table.isLive(i)) {
            return null;
        }
        long gone = s.table.gone(i);
        return new Entry(uid, s.table.size(i), s.table.stored(i),
                gone > 0 ? gone : Math.max(s.listing, s.table.stored(i)), s.table.deleted(i));
    }

    /** Allocates nothing for an ordinary UID, as it is asked once per message on the server. */
    @Override
    public long collectedAt(String uid, long size) {
        int i = s.table.find(escape(uid));
        if (i < 0 || !s.table.isLive(i) || s.table.deleted(i) > 0 || size >= 0 && s.table.size(i) != size) {
            return -1;
        }
        return s.table.stored(i);
    }

    @Override
    public int size() {
        return s.table.live();
    }

    @Override
    public Listing listing() {
        return new TableListing();
    }

    private final class TableListing implements Listing {
        private final long[] present = new long[(s.table.count() + 63) >>> 6];
        private final java.util.Set<String> oversizedPresent = new java.util.HashSet<>();

        @Override
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

        @Override
        public void finish(Instant now, Duration expiry) throws IOException {
            long t = now.toEpochMilli();
            long limit = t - expiry.toMillis();
            long previous = s.listing;
            UidTable table = s.table;
            int[] changed = new int[16];
            int n = 0;
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
                } else if (!listed && gone == 0) {
                    table.gone(i, lastSeen);
                } else {
                    continue;
                }
                if (n == changed.length) {
                    changed = Arrays.copyOf(changed, n * 2);
                }
                changed[n++] = i;
            }
            // a skipped message someone removed from the server needs no more mention
            List<String> oversizedGone = new ArrayList<>();
            for (String uid : new ArrayList<>(s.oversized.keySet())) {
                if (!oversizedPresent.contains(uid)) {
                    s.oversized.remove(uid);
                    oversizedGone.add(uid);
                }
            }
            s.listing = t;
            recordListing(changed, n, oversizedGone, t);
        }
    }

    @Override
    public long validity() {
        return s.validity;
    }

    @Override
    public long handledUpTo() {
        return s.watermark;
    }

    @Override
    public void validity(long validity) throws IOException {
        s.validity = validity;
        s.watermark = 0;
        s.voidOthers();
        recordValidity(validity);
    }

    @Override
    public void handledUpTo(long uid) throws IOException {
        if (uid != s.watermark) {
            s.watermark = uid;
            recordHandled(uid);
        }
    }

    @Override
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

    @Override
    public void forgetDeleted(Instant now, Duration expiry) throws IOException {
        long limit = now.toEpochMilli() - expiry.toMillis();
        UidTable table = s.table;
        int[] forgotten = new int[16];
        int n = 0;
        for (int i = 0; i < table.count(); i++) {
            long d = table.isLive(i) ? table.deleted(i) : 0;
            if (d > 0 && d < limit) {
                table.kill(i);
                if (n == forgotten.length) {
                    forgotten = Arrays.copyOf(forgotten, n * 2);
                }
                forgotten[n++] = i;
            }
        }
        if (n > 0) {
            recordForgotten(forgotten, n);
        }
    }

    @Override
    public boolean knownOversized(String uid, long size) {
        Oversized o = s.oversized.get(uid);
        return o != null && o.size() == size;
    }

    @Override
    public void oversized(String uid, long size, Instant now) throws IOException {
        Oversized o = new Oversized(uid, size, now.toEpochMilli());
        s.oversized.put(uid, o);
        recordOversized(o);
    }

    @Override
    public List<Oversized> oversized() {
        return List.copyOf(s.oversized.values());
    }

    @Override
    public void stored(String uid, long size, Instant now) throws IOException {
        stored(Map.of(uid, size), now);
    }

    @Override
    public void stored(Map<String, Long> batch, Instant now) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        long t = now.toEpochMilli();
        for (Map.Entry<String, Long> b : batch.entrySet()) {
            s.table.put(escape(b.getKey()), b.getValue(), t);
            s.oversized.remove(b.getKey());
        }
        recordStored(batch, t);
    }

    @Override
    public void deleted(String uid, Instant now) throws IOException {
        deleted(List.of(uid), now);
    }

    @Override
    public void deleted(List<String> uids, Instant now) throws IOException {
        long t = now.toEpochMilli();
        int[] entries = new int[uids.size()];
        int n = 0;
        for (String uid : uids) {
            int i = s.table.find(escape(uid));
            if (i >= 0 && s.table.isLive(i)) {
                s.table.deleted(i, t);
                entries[n++] = i;
            }
        }
        if (n > 0) {
            recordDeleted(entries, n, t);
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
