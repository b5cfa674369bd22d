package io.uplink.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

import org.apache.felix.utils.properties.TypedProperties;

/**
 * Notices an {@code etc/io.uplink.*.cfg} file whose settings are not live and has it taken in. OSGi-free: what
 * ConfigurationAdmin holds comes through {@link Live}.
 *
 * <p>Cheap when nothing changed: a pass lists the folder and compares each file's modification time and size with
 * what it saw before; only a file that changed is read, and only once it has kept still for {@code settle} and no
 * Uplink configuration has changed for as long (so a burst FileInstall is still working through is not judged). A
 * file whose properties differ from the live configuration stamped with its name (or that has none) gets one WARN
 * naming it; FileInstall is asked to read it again (its modification time is moved, which is what its scanner
 * looks at); if that does not make it live by the next judgement, it is applied through ConfigurationAdmin the way
 * FileInstall would.
 */
final class ConfigReconciler {

    /** Uplink's own files; FileInstall handles every other one alone. */
    static final Pattern FILES = Pattern.compile("io\\.uplink\\.[^/\\\\]+\\.cfg");
    /** Framework keys FileInstall leaves out when it compares a file with its configuration. */
    private static final Set<String> STAMPS = Set.of("service.pid", "service.factoryPid", "felix.fileinstall.filename");
    /** A file that changed is judged after this much time even while configurations keep changing. */
    private static final Duration STARVED = Duration.ofMinutes(5);

    /** What ConfigurationAdmin holds for the files of the folder. */
    interface Live {

        /** The properties of every configuration stamped with a file of the folder, by file name. */
        Map<String, Map<String, Object>> byFile() throws IOException;

        /** Creates or updates the configuration of a file as FileInstall would, stamped with the file. */
        void apply(Path file, Map<String, Object> properties) throws IOException;
    }

    /** What the last passes saw of one file. */
    private static final class Seen {
        final long modified;
        final long size;
        final long since;
        /** 0: not acted on; 1: FileInstall was asked to read it again; 2: applied through ConfigurationAdmin. */
        int attempts;
        boolean settled;

        Seen(long modified, long size, long since) {
            this.modified = modified;
            this.size = size;
            this.since = since;
        }
    }

    private final Path dir;
    private final Live live;
    private final LongSupplier nanos;
    private final long settle;
    private final TypedProperties.SubstitutionCallback substitution;
    private final Consumer<String> warn;
    private volatile Charset encoding = StandardCharsets.ISO_8859_1;
    private final Map<String, Seen> seen = new HashMap<>();
    private volatile long lastChange;
    /** Every file is read again this often (nanoseconds; 0: never), for a change its size and time do not show. */
    private volatile long recheck;
    private long lastRecheck;
    private int reads;

    /**
     * @param dir the folder FileInstall watches
     * @param settle how long a file and the configurations must keep still before a file is judged
     * @param substitution resolves {@code ${…}} as FileInstall does ({@code null}: none)
     * @param warn where the one line per recovered file goes
     */
    ConfigReconciler(Path dir, Live live, LongSupplier nanos, Duration settle,
            TypedProperties.SubstitutionCallback substitution, Consumer<String> warn) {
        this.dir = dir;
        this.live = live;
        this.nanos = nanos;
        this.settle = settle.toNanos();
        this.substitution = substitution;
        this.warn = warn;
        this.lastChange = nanos.getAsLong() - this.settle;
        this.lastRecheck = nanos.getAsLong();
    }

    /**
     * How often every file is read again and compared, even when its size and modification time did not change
     * (an edit that kept both, such as a copy that preserves times, is not seen by FileInstall either).
     *
     * @param every {@link Duration#ZERO}: never
     */
    void recheckEvery(Duration every) {
        recheck = every.toNanos();
    }

    /** The encoding FileInstall reads files with ({@code felix.fileinstall.configEncoding}, default ISO-8859-1). */
    void encoding(Charset charset) {
        encoding = charset;
    }

    /** An Uplink configuration changed: FileInstall may be at work, so judging waits until things are still. */
    void configurationChanged() {
        lastChange = nanos.getAsLong();
    }

    /** How many files the passes have read so far (a pass over unchanged files reads none). */
    synchronized int reads() {
        return reads;
    }

    /**
     * Compares the folder with what is live, recovering each file that is not.
     *
     * @return the nanoseconds until a file seen changing can be judged, or -1 when none waits
     */
    synchronized long pass() throws IOException {
        long now = nanos.getAsLong();
        boolean still = now - lastChange >= settle;
        if (recheck > 0 && still && now - lastRecheck >= recheck) {
            lastRecheck = now;
            for (Seen s : seen.values()) {
                s.settled = false;
            }
        }
        List<String> due = new ArrayList<>();
        Set<String> present = new HashSet<>();
        long wait = -1;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (!FILES.matcher(name).matches() || !Files.isRegularFile(f)) {
                    continue;
                }
                present.add(name);
                long modified = Files.getLastModifiedTime(f).toMillis();
                long size = Files.size(f);
                Seen s = seen.get(name);
                if (s == null || s.modified != modified || s.size != size) {
                    Seen n = new Seen(modified, size, now);
                    // a file Uplink touched keeps its count, so it is not asked for again and again
                    n.attempts = s == null ? 0 : s.attempts;
                    seen.put(name, n);
                    wait = soonest(wait, settle);
                } else if (!s.settled) {
                    long age = now - s.since;
                    if ((still && age >= settle) || age >= STARVED.toNanos()) {
                        due.add(name);
                    } else {
                        wait = soonest(wait, Math.max(settle - age, settle - (now - lastChange)));
                    }
                }
            }
        }
        seen.keySet().retainAll(present);
        if (!due.isEmpty()) {
            Map<String, Map<String, Object>> configs = live.byFile();
            for (String name : due) {
                if (!judge(name, configs.get(name), now)) {
                    wait = soonest(wait, settle);
                }
            }
        }
        return wait;
    }

    private static long soonest(long wait, long next) {
        return wait < 0 ? next : Math.min(wait, next);
    }

    /** @return whether the file is settled (live, or given up on) */
    private boolean judge(String name, Map<String, Object> config, long now) throws IOException {
        Path file = dir.resolve(name);
        Seen s = seen.get(name);
        Map<String, Object> props;
        try {
            props = read(file);
        } catch (IOException | RuntimeException e) {
            // FileInstall reports a file it cannot read itself; it counts again once the file changes
            s.settled = true;
            return true;
        }
        if (sameSettings(props, config)) {
            s.settled = true;
            s.attempts = 0;
            return true;
        }
        String shown = dir.getFileName() + "/" + name;
        switch (s.attempts) {
            case 0 -> {
                warn.accept(shown + " was not taken in by FileInstall; applying it now");
                touch(file, s);
            }
            case 1 -> {
                warn.accept(shown + " was still not taken in by FileInstall; applying it through ConfigurationAdmin");
                live.apply(file, props);
                s.attempts = 2;
            }
            default -> {
                warn.accept(shown + " does not match its live configuration even after Uplink applied it; "
                        + "leaving it until the file changes");
                s.settled = true;
                return true;
            }
        }
        return false;
    }

    /** Moves the file's modification time, which FileInstall's scanner compares: it reads the file again. */
    private void touch(Path file, Seen s) throws IOException {
        long to = Math.max(System.currentTimeMillis(), s.modified + 1000);
        Files.setLastModifiedTime(file, FileTime.fromMillis(to));
        Seen n = new Seen(Files.getLastModifiedTime(file).toMillis(), s.size, nanos.getAsLong());
        n.attempts = 1;
        seen.put(file.getFileName().toString(), n);
    }

    /** The file's properties as FileInstall reads them (its encoding, typed values, {@code ${…}} resolved). */
    Map<String, Object> read(Path file) throws IOException {
        reads++;
        TypedProperties p = new TypedProperties(substitution);
        try (InputStream in = Files.newInputStream(file);
                Reader r = new InputStreamReader(in, encoding)) {
            p.load(r);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (String k : p.keySet()) {
            out.put(k, p.get(k));
        }
        return out;
    }

    /** Whether a file's properties are what the configuration holds, leaving out the stamps FileInstall adds. */
    static boolean sameSettings(Map<String, Object> file, Map<String, Object> config) {
        if (config == null) {
            return false;
        }
        Map<String, Object> a = withoutStamps(file);
        Map<String, Object> b = withoutStamps(config);
        if (!a.keySet().equals(b.keySet())) {
            return false;
        }
        for (Map.Entry<String, Object> e : a.entrySet()) {
            if (!Objects.deepEquals(e.getValue(), b.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, Object> withoutStamps(Map<String, Object> m) {
        Map<String, Object> out = new HashMap<>(m);
        out.keySet().removeAll(STAMPS);
        return out;
    }

    /**
     * The PID and factory name FileInstall gives a file: {@code io.uplink.connection-office.cfg} is the factory
     * configuration {@code office} of {@code io.uplink.connection}; {@code io.uplink.core.cfg} the PID itself.
     *
     * @return {pid, name or null}
     */
    static String[] pidOf(String fileName) {
        String pid = fileName.substring(0, fileName.lastIndexOf('.'));
        int dash = pid.indexOf('-');
        return dash > 0 ? new String[] {pid.substring(0, dash), pid.substring(dash + 1)} : new String[] {pid, null};
    }
}
