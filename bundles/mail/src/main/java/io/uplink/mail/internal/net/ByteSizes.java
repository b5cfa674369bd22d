package io.uplink.mail.internal.net;

import java.util.Locale;

import io.uplink.api.config.Settings;

/** Sizes and rates in the mail settings: bytes with an optional K, M or G (binary) suffix. */
public final class ByteSizes {

    private ByteSizes() {
    }

    /** Bytes, with an optional K, M or G suffix (KiB, MB... also read); {@code def} when unset. */
    public static long size(Settings s, String key, long def) {
        String v = s.string(key, null);
        if (v == null) {
            return def;
        }
        long n = parse(v.replace("/s", "").replace("/S", ""));
        if (n < 0) {
            throw s.problem(key, "must be a size in bytes such as 10485760, 10240K or 10M (0 = no limit), got '" + v + "'");
        }
        return n;
    }

    /** A transfer rate in bytes per second ({@code 1K}, {@code 1KiB/s}, {@code 2048}); more than 0. */
    public static long rate(Settings s, String key, long def) {
        long r = size(s, key, def);
        if (r <= 0) {
            throw s.problem(key, "must be a rate of more than 0 bytes per second such as 1KiB/s, got '" + s.string(key, "") + "'");
        }
        return r;
    }

    /** How a rate reads in messages. */
    public static String rate(long bytesPerSecond) {
        return bytesPerSecond % 1024 == 0 ? bytesPerSecond / 1024 + "KiB/s" : bytesPerSecond + " bytes/s";
    }

    private static long parse(String v) {
        String t = v.toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "").trim();
        long factor = 1;
        if (t.endsWith("K")) {
            factor = 1024;
        } else if (t.endsWith("M")) {
            factor = 1024 * 1024;
        } else if (t.endsWith("G")) {
            factor = 1024L * 1024 * 1024;
        }
        if (factor > 1) {
            t = t.substring(0, t.length() - 1).trim();
        }
        try {
            long n = Long.parseLong(t);
            return n < 0 ? -1 : Math.multiplyExact(n, factor);
        } catch (NumberFormatException | ArithmeticException e) {
            return -1;
        }
    }
}
