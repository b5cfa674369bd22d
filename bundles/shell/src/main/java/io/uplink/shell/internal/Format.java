package io.uplink.shell.internal;

import io.uplink.api.FiringResult;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.Locale;

/** How the commands show times, durations, empty values and firing results, the same in every table. */
public final class Format {

    /** Shown for a value that is not there, so columns and {@code key: value} lines never go blank. */
    public static final String NONE = "-";

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT);

    private Format() {
    }

    /** A local date and time, or {@link #NONE}. */
    public static String time(Instant instant) {
        return time(instant, ZoneId.systemDefault());
    }

    /** A date and time in a zone, or {@link #NONE}. */
    public static String time(Instant instant, ZoneId zone) {
        return instant == null ? NONE : TIME.format(instant.atZone(zone));
    }

    /** Seconds with one decimal, such as {@code 3.2}. */
    public static String seconds(Duration duration) {
        if (duration == null) {
            return NONE;
        }
        return String.format(Locale.ROOT, "%.1f", duration.toMillis() / 1000.0);
    }

    /** The text, or {@link #NONE} when it is null or blank. */
    public static String text(String s) {
        return s == null || s.isBlank() ? NONE : s;
    }

    /** The items joined with {@code , }, or {@link #NONE} when there are none. */
    public static String list(Collection<String> items) {
        return items == null || items.isEmpty() ? NONE : String.join(", ", items);
    }

    /**
     * The text broken into lines of at most {@code width} characters at spaces (a longer word is split), for
     * a table column of that {@code maxSize}. Karaf's own column wrap (4.4.10) drops the character before a
     * break when a piece is exactly as wide as the column, so tables wrap their text here instead.
     */
    public static String wrap(String text, int width) {
        StringBuilder out = new StringBuilder();
        for (String paragraph : text.split("\n", -1)) {
            if (out.length() > 0) {
                out.append('\n');
            }
            int lineLength = 0;
            for (String word : paragraph.trim().split("\\s+")) {
                while (word.length() > width) {
                    if (lineLength > 0) {
                        out.append('\n');
                    }
                    out.append(word, 0, width);
                    lineLength = width;
                    word = word.substring(width);
                }
                if (word.isEmpty()) {
                    continue;
                }
                if (lineLength > 0) {
                    boolean fits = lineLength + 1 + word.length() <= width;
                    out.append(fits ? ' ' : '\n');
                    lineLength = fits ? lineLength + 1 : 0;
                }
                out.append(word);
                lineLength += word.length();
            }
        }
        return out.toString();
    }

    /** A byte count for people: {@code 512 B}, {@code 4.0 KiB}, {@code 2.5 MiB}. */
    public static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    /** The line {@code connection:fire --wait} ends with: {@code <id> <OK|PARTIAL|FAILED> <seconds>s <summary>}. */
    public static String resultLine(FiringResult result) {
        StringBuilder line = new StringBuilder()
                .append(result.connectionId()).append(' ')
                .append(result.outcome()).append(' ')
                .append(seconds(result.duration())).append('s');
        if (result.summary() != null && !result.summary().isBlank()) {
            line.append(' ').append(result.summary());
        }
        return line.toString();
    }

    /** A short form of a result for tables and status lines: {@code OK 3.2s sent 1, collected 4}. */
    public static String result(FiringResult result) {
        if (result == null) {
            return NONE;
        }
        String s = result.outcome() + " " + seconds(result.duration()) + "s";
        return result.summary() == null || result.summary().isBlank() ? s : s + " " + result.summary();
    }
}
