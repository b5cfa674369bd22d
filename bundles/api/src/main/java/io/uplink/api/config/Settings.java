package io.uplink.api.config;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The properties of one factory configuration (a connection, a sender, a collector, a schedule item),
 * with typed getters whose errors are {@link ConfigException}s naming the item, the file and the key.
 *
 * <p>The id of an item is the name part of its file ({@code etc/io.uplink.connection-office.cfg} gives
 * {@code office}), never the generated PID, so an item keeps its id whether FileInstall or
 * {@code config:edit --factory --alias} created it.
 */
public final class Settings {

    /** Property FileInstall sets to the URL of the file a configuration came from. */
    public static final String FILEINSTALL_FILENAME = "felix.fileinstall.filename";

    private static final Pattern DURATION_PART = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
    private static final List<String> FRAMEWORK_KEYS = List.of(
            "service.pid", "service.factoryPid", "service.bundleLocation", FILEINSTALL_FILENAME,
            "component.name", "component.id", "org.apache.karaf.features.configKey", "config.location");

    /** Longer than any timeout or interval anyone means; keeps every duration countable in milliseconds. */
    private static final Duration LONGEST = Duration.ofDays(3650);
    /** Keys the framework sets or reads, never reported as unknown. */
    private static final List<String> FRAMEWORK_PREFIXES = List.of("service.", "felix.fileinstall.", "component.", "osgi.",
            "org.apache.karaf.");

    private final String kind;
    private final String id;
    private final String file;
    private final Map<String, Object> properties;

    private Settings(String kind, String id, String file, Map<String, Object> properties) {
        this.kind = kind;
        this.id = id;
        this.file = file;
        this.properties = Collections.unmodifiableMap(properties);
    }

    /**
     * Reads a factory configuration.
     *
     * @param kind the user's word for the item: {@code connection}, {@code sender}, {@code collector}, {@code schedule}
     * @param factoryPid the factory PID, for example {@code io.uplink.connection}
     * @param properties the configuration properties as ConfigAdmin or DS hands them over
     */
    public static Settings of(String kind, String factoryPid, Map<String, ?> properties) {
        Map<String, Object> copy = new LinkedHashMap<>(properties);
        String fileName = fileName(copy.get(FILEINSTALL_FILENAME));
        String pid = String.valueOf(copy.getOrDefault("service.pid", factoryPid));
        String id = idOf(factoryPid, fileName, pid, copy.get("id"));
        String file = fileName != null ? fileName : "configuration " + pid;
        return new Settings(kind, id, file, copy);
    }

    /** Same as {@link #of(String, String, Map)}, for a {@link Dictionary}. */
    public static Settings of(String kind, String factoryPid, Dictionary<String, ?> properties) {
        Map<String, Object> map = new LinkedHashMap<>();
        if (properties != null) {
            for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
                String k = keys.nextElement();
                map.put(k, properties.get(k));
            }
        }
        return of(kind, factoryPid, map);
    }

    static String fileName(Object url) {
        if (url == null) {
            return null;
        }
        String s = url.toString();
        int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        return slash >= 0 ? s.substring(slash + 1) : s;
    }

    static String idOf(String factoryPid, String fileName, String pid, Object explicit) {
        if (explicit != null && !explicit.toString().isBlank()) {
            return explicit.toString().trim();
        }
        if (fileName != null && fileName.startsWith(factoryPid + "-")) {
            String rest = fileName.substring(factoryPid.length() + 1);
            int dot = rest.lastIndexOf('.');
            return dot > 0 ? rest.substring(0, dot) : rest;
        }
        int tilde = pid.indexOf('~');
        if (tilde >= 0) {
            return pid.substring(tilde + 1);
        }
        if (pid.startsWith(factoryPid + ".")) {
            return pid.substring(factoryPid.length() + 1);
        }
        return pid;
    }

    /** The item's id (the name part of its file). */
    public String id() {
        return id;
    }

    /** The user's word for the item, such as {@code connection}. */
    public String kind() {
        return kind;
    }

    /** The file name the configuration came from, or {@code configuration <pid>}. */
    public String file() {
        return file;
    }

    /** How errors and logs name the item: {@code connection 'office'}. */
    public String item() {
        return kind + " '" + id + "'";
    }

    /** All properties as given, framework properties included. */
    public Map<String, Object> raw() {
        return properties;
    }

    /** The user's keys (framework properties left out), sorted. */
    public List<String> keys() {
        List<String> keys = new ArrayList<>();
        for (String k : properties.keySet()) {
            if (!FRAMEWORK_KEYS.contains(k) && !k.startsWith("felix.") && !k.startsWith("osgi.")
                    && !k.startsWith(".")) {
                keys.add(k);
            }
        }
        Collections.sort(keys);
        return keys;
    }

    /** Whether the key is set to a non-blank value. */
    public boolean has(String key) {
        Object v = properties.get(key);
        return v != null && !v.toString().isBlank();
    }

    /** A {@link ConfigException} about this item and key. */
    public ConfigException problem(String key, String detail) {
        return new ConfigException(item(), file, key, detail);
    }

    /** A trimmed string, or {@code def} when unset or blank. */
    public String string(String key, String def) {
        Object v = properties.get(key);
        if (v == null) {
            return def;
        }
        String s = (v instanceof String[] a) ? String.join(",", a) : v.toString().trim();
        return s.isEmpty() ? def : s;
    }

    /** A required, non-blank string. */
    public String required(String key) {
        String s = string(key, null);
        if (s == null) {
            throw problem(key, "is required but not set");
        }
        return s;
    }

    /** A whole number in {@code [min, max]}, or {@code def} when unset. */
    public int integer(String key, int def, int min, int max) {
        long v = longValue(key, def, min, max);
        return (int) v;
    }

    /** A whole number in {@code [min, max]}, or {@code def} when unset. */
    public long longValue(String key, long def, long min, long max) {
        String s = string(key, null);
        if (s == null) {
            return def;
        }
        long v;
        try {
            v = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw problem(key, "must be a whole number, got '" + s + "'");
        }
        if (v < min || v > max) {
            throw problem(key, "must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    /**
     * {@code true} or {@code false} (any case), nothing else: a {@code yes} or {@code 1} is an error rather than
     * silently taken as true. {@code def} when unset. A {@link Boolean} value (from {@code config:property-set
     * -t boolean}) is taken as it is.
     */
    public boolean bool(String key, boolean def) {
        Object v = properties.get(key);
        if (v instanceof Boolean b) {
            return b;
        }
        String s = string(key, null);
        if (s == null) {
            return def;
        }
        switch (s.toLowerCase(Locale.ROOT)) {
            case "true":
                return true;
            case "false":
                return false;
            default:
                throw problem(key, "must be true or false, got '" + s + "'");
        }
    }

    /**
     * A duration: {@code 30s}, {@code 2m}, {@code 1h30m}, {@code 500ms}, {@code 1d}, an ISO-8601 {@code PT30S},
     * or a plain number of seconds. {@code def} when unset.
     */
    public Duration duration(String key, Duration def) {
        String s = string(key, null);
        if (s == null) {
            return def;
        }
        Duration d = parseDuration(s);
        if (d == null) {
            throw problem(key, "must be a duration such as 30s, 2m, 1h30m or 500ms, got '" + s + "'");
        }
        if (d.compareTo(LONGEST) > 0) {
            throw problem(key, "must be at most " + LONGEST.toDays() + "d, got '" + s + "'");
        }
        return d;
    }

    /** Parses a duration as {@link #duration(String, Duration)} does; {@code null} when it is not one. */
    public static Duration parseDuration(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.isEmpty()) {
            return null;
        }
        try {
            return parseDurationText(text, s);
        } catch (ArithmeticException | NumberFormatException | java.time.DateTimeException tooLong) {
            // 99999999999999999999999 and the like: not a duration anyone means
            return null;
        }
    }

    private static Duration parseDurationText(String text, String s) {
        if (s.matches("\\d+")) {
            return Duration.ofSeconds(Long.parseLong(s));
        }
        if (s.startsWith("pt") || s.startsWith("p")) {
            try {
                Duration d = Duration.parse(text.trim().toUpperCase(Locale.ROOT));
                return d.isNegative() ? null : d;
            } catch (RuntimeException e) {
                return null;
            }
        }
        Matcher m = DURATION_PART.matcher(s);
        Duration total = Duration.ZERO;
        int at = 0;
        while (at < s.length()) {
            while (at < s.length() && s.charAt(at) == ' ') {
                at++;
            }
            if (at == s.length()) {
                break;
            }
            if (!m.find(at) || m.start() != at) {
                return null;
            }
            long n = Long.parseLong(m.group(1));
            switch (m.group(2)) {
                case "ms": total = total.plusMillis(n); break;
                case "s": total = total.plusSeconds(n); break;
                case "m": total = total.plusMinutes(n); break;
                case "h": total = total.plusHours(n); break;
                default: total = total.plusDays(n); break;
            }
            at = m.end();
        }
        return total;
    }

    /** A comma (or white space) separated list; empty when unset. Arrays and collections are taken as they are. */
    public List<String> list(String key) {
        Object v = properties.get(key);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        Collection<?> parts;
        if (v instanceof Object[] a) {
            parts = Arrays.asList(a);
        } else if (v instanceof Collection<?> c) {
            parts = c;
        } else {
            parts = List.of(v.toString());
        }
        for (Object p : parts) {
            for (String s : p.toString().split("[,\\s]+")) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
        }
        return out;
    }

    /** One of an enum's constants, matched without regard to case and with {@code -} for {@code _}. */
    public <E extends Enum<E>> E choice(String key, Class<E> type, E def) {
        String s = string(key, null);
        if (s == null) {
            return def;
        }
        String wanted = s.toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(wanted)) {
                return e;
            }
        }
        List<String> allowed = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            allowed.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw problem(key, "must be one of " + String.join(", ", allowed) + ", got '" + s + "'");
    }

    /** Whether a key holds a secret (its name contains {@code password} or {@code secret}). */
    public static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("password") || k.contains("secret") || k.contains("passphrase");
    }

    /** The user's keys and values for display, secrets shown as {@code ********}. */
    public Map<String, String> masked() {
        Map<String, String> out = new TreeMap<>();
        for (String k : keys()) {
            String v = string(k, "");
            out.put(k, isSecret(k) && !v.isEmpty() ? "********" : v);
        }
        return out;
    }

    /**
     * The keys of this item that are not among {@code known}, each as a warning with the nearest known key:
     * {@code unknown key 'sendr' in io.uplink.connection-office.cfg; did you mean 'sender'?}. The framework's own
     * keys ({@code service.*}, {@code felix.fileinstall.*}, {@code component.*}) and {@code id} are never reported.
     *
     * @param known the keys the item reads, such as those of {@link #keysOf(Class)}
     * @since 1.1
     */
    public List<String> unknownKeys(Collection<String> known) {
        List<String> out = new ArrayList<>();
        for (String k : keys()) {
            if (known.contains(k) || "id".equals(k) || FRAMEWORK_PREFIXES.stream().anyMatch(k::startsWith)) {
                continue;
            }
            String near = suggest(k, known);
            out.add("unknown key '" + k + "' in " + file + (near == null ? "; it is ignored" : "; did you mean '" + near + "'?"));
        }
        return out;
    }

    /**
     * The candidate nearest to {@code word} (edit distance, case ignored), or {@code null} when none is near
     * enough to be a slip of the fingers.
     *
     * @since 1.1
     */
    public static String suggest(String word, Collection<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String w = word.toLowerCase(Locale.ROOT);
        for (String c : candidates) {
            int d = distance(w, c.toLowerCase(Locale.ROOT));
            if (d < bestDistance || (d == bestDistance && best != null && c.compareTo(best) < 0)) {
                best = c;
                bestDistance = d;
            }
        }
        int allowed = Math.max(2, w.length() / 3);
        return best != null && bestDistance <= allowed ? best : null;
    }

    /** Damerau-Levenshtein distance (optimal string alignment): a swapped pair of letters counts once. */
    private static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /**
     * The property names of a metatype {@code @ObjectClassDefinition} (or any DS component property type), by the
     * Declarative Services naming rules: {@code leaveOnServer_days} is {@code leaveOnServer.days}, {@code default$}
     * is {@code default}, {@code a$_$b} is {@code a-b}. So the metatype is the one list of an item's keys.
     *
     * @since 1.1
     */
    public static Set<String> keysOf(Class<?> ocd) {
        Set<String> keys = new TreeSet<>();
        for (Method m : ocd.getDeclaredMethods()) {
            if (m.getParameterCount() == 0 && !m.isSynthetic() && !Modifier.isStatic(m.getModifiers())) {
                keys.add(propertyName(m.getName()));
            }
        }
        return keys;
    }

    static String propertyName(String method) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (c == '$') {
                if (method.startsWith("$_$", i)) {
                    b.append('-');
                    i += 2;
                } else if (method.startsWith("$$", i)) {
                    b.append('$');
                    i++;
                }
            } else if (c == '_') {
                if (method.startsWith("__", i)) {
                    b.append('_');
                    i++;
                } else {
                    b.append('.');
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return item() + " " + masked();
    }
}
