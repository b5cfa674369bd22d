package io.uplink.mail.internal.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The ledger's entries in memory, packed into a few arrays instead of an object per entry: a ledger of
 * 100,000 UIDs takes about 4 MiB and loads without a String per line. UIDs are held in their escaped form
 * (printable ASCII, as in the file), so the file's bytes are hashed and compared as they are read.
 *
 * <p>An entry that is forgotten stays in the hash index as dead (its slot is reused if the UID comes back);
 * the ledger's compaction builds a fresh table.
 */
final class UidTable {

    /** {@code stored} of a dead entry. */
    private static final long DEAD = Long.MIN_VALUE;

    private byte[] chars;
    private int used;
    /** Where entry i's UID starts in {@link #chars}; entry i ends where i+1 starts (or at {@link #used}). */
    private int[] start;
    private long[] size;
    private long[] stored;
    /** When the server confirmed deleting it (0: not); allocated when first needed. */
    private long[] deleted;
    /** Missing from a listing: when it was last seen (0: present); allocated when first needed. */
    private long[] gone;
    /** Open addressing, linear probing: entry index + 1, 0 = free. */
    private int[] slots;
    private int count;
    private int live;

    UidTable(int expected) {
        this(expected, expected * 16L);
    }

    /** Room for {@code expected} entries whose UIDs take {@code bytes} in all (an estimate). */
    UidTable(int expected, long bytes) {
        int n = Math.max(16, expected);
        chars = new byte[(int) Math.min(Integer.MAX_VALUE - 16, Math.max(256, bytes))];
        start = new int[n];
        size = new long[n];
        stored = new long[n];
        slots = new int[Integer.highestOneBit(Math.max(16, n * 3 / 2)) << 1];
    }

    /** Entries ever added, dead ones included: the valid indexes are 0 to count - 1. */
    int count() {
        return count;
    }

    /** Entries that are live. */
    int live() {
        return live;
    }

    boolean isLive(int i) {
        return stored[i] != DEAD;
    }

    long size(int i) {
        return size[i];
    }

    long stored(int i) {
        return stored[i];
    }

    long deleted(int i) {
        return deleted == null ? 0 : deleted[i];
    }

    long gone(int i) {
        return gone == null ? 0 : gone[i];
    }

    void deleted(int i, long millis) {
        if (deleted == null) {
            if (millis == 0) {
                return;
            }
            deleted = new long[start.length];
        }
        deleted[i] = millis;
    }

    void gone(int i, long millis) {
        if (gone == null) {
            if (millis == 0) {
                return;
            }
            gone = new long[start.length];
        }
        gone[i] = millis;
    }

    void kill(int i) {
        if (stored[i] != DEAD) {
            stored[i] = DEAD;
            live--;
        }
    }

    /** The escaped UID of entry i, as the file holds it. */
    String escaped(int i) {
        return new String(chars, start[i], end(i) - start[i], StandardCharsets.ISO_8859_1);
    }

    /** Writes the escaped UID of entry i. */
    void escapedTo(int i, java.io.ByteArrayOutputStream out) {
        out.write(chars, start[i], end(i) - start[i]);
    }

    /** Whether the escaped UID of entry i starts with the ASCII {@code prefix}. */
    boolean startsWith(int i, String prefix) {
        int s = start[i];
        if (end(i) - s < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (chars[s + k] != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private int end(int i) {
        return i + 1 < count ? start[i + 1] : used;
    }

    /** The index of the escaped UID, dead or live, or -1. */
    int find(CharSequence escaped) {
        int h = hash(escaped);
        int mask = slots.length - 1;
        for (int p = h & mask; ; p = (p + 1) & mask) {
            int v = slots[p];
            if (v == 0) {
                return -1;
            }
            if (equal(v - 1, escaped)) {
                return v - 1;
            }
        }
    }

    /** The index of the escaped UID in {@code b[off, off+len)}, dead or live, or -1. */
    int find(byte[] b, int off, int len) {
        int h = hash(b, off, len);
        int mask = slots.length - 1;
        for (int p = h & mask; ; p = (p + 1) & mask) {
            int v = slots[p];
            if (v == 0) {
                return -1;
            }
            if (equal(v - 1, b, off, len)) {
                return v - 1;
            }
        }
    }

    /** Sets the entry of this escaped UID (live), adding it if new; returns its index. */
    int put(byte[] b, int off, int len, long size, long stored) {
        int i = find(b, off, len);
        if (i < 0) {
            i = add(b, off, len, hash(b, off, len));
        }
        set(i, size, stored);
        return i;
    }

    int put(String escaped, long size, long stored) {
        byte[] b = escaped.getBytes(StandardCharsets.ISO_8859_1);
        return put(b, 0, b.length, size, stored);
    }

    private void set(int i, long s, long t) {
        if (stored[i] == DEAD) {
            live++;
        }
        size[i] = s;
        stored[i] = t;
        if (deleted != null) {
            deleted[i] = 0;
        }
        if (gone != null) {
            gone[i] = 0;
        }
    }

    private int add(byte[] b, int off, int len, int h) {
        if (count == start.length) {
            int n = count + (count >> 1) + 16;
            start = Arrays.copyOf(start, n);
            size = Arrays.copyOf(size, n);
            stored = Arrays.copyOf(stored, n);
            if (deleted != null) {
                deleted = Arrays.copyOf(deleted, n);
            }
            if (gone != null) {
                gone = Arrays.copyOf(gone, n);
            }
        }
        if (used + len > chars.length) {
            chars = Arrays.copyOf(chars, Math.max(used + len, chars.length + (chars.length >> 1)));
        }
        System.arraycopy(b, off, chars, used, len);
        int i = count++;
        start[i] = used;
        used += len;
        stored[i] = DEAD;
        if ((count + 1) * 3L > slots.length * 2L) {
            rehash(slots.length << 1);
        } else {
            insert(i, h);
        }
        return i;
    }

    private void rehash(int n) {
        slots = new int[n];
        for (int i = 0; i < count; i++) {
            insert(i, hash(chars, start[i], end(i) - start[i]));
        }
    }

    private void insert(int i, int h) {
        int mask = slots.length - 1;
        int p = h & mask;
        while (slots[p] != 0) {
            p = (p + 1) & mask;
        }
        slots[p] = i + 1;
    }

    private boolean equal(int i, CharSequence s) {
        int o = start[i];
        if (end(i) - o != s.length()) {
            return false;
        }
        for (int k = 0; k < s.length(); k++) {
            if (chars[o + k] != s.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private boolean equal(int i, byte[] b, int off, int len) {
        int o = start[i];
        return end(i) - o == len && Arrays.equals(chars, o, o + len, b, off, off + len);
    }

    private static int hash(CharSequence s) {
        int h = 0;
        for (int k = 0; k < s.length(); k++) {
            h = 31 * h + s.charAt(k);
        }
        return h ^ (h >>> 16);
    }

    private static int hash(byte[] b, int off, int len) {
        int h = 0;
        for (int k = off; k < off + len; k++) {
            h = 31 * h + (b[k] & 0xff);
        }
        return h ^ (h >>> 16);
    }
}
