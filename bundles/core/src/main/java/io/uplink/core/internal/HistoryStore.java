package io.uplink.core.internal;

import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;

import java.io.IOException;
import java.io.Writer;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last firings of each connection, kept in {@code state/history/<id>.log} (one line a firing), so a
 * restart keeps them. Fields are URL-encoded, so separators never occur inside them.
 */
final class HistoryStore {

    private static final Logger LOG = LoggerFactory.getLogger(HistoryStore.class);
    private static final String VERSION = "h1";

    private final Path dir;

    HistoryStore(Path dir) {
        this.dir = dir;
    }

    /** Loads the newest {@code limit} firings of a connection, oldest first. */
    Deque<FiringResult> load(String connectionId, int limit) {
        Deque<FiringResult> out = new ArrayDeque<>();
        Path f = file(connectionId);
        if (!Files.isRegularFile(f)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                FiringResult r = decode(line);
                if (r != null) {
                    out.addLast(r);
                    while (out.size() > limit) {
                        out.removeFirst();
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("history of connection '{}' in {} cannot be read, starting it anew: {}", connectionId, f, e.toString());
        }
        return out;
    }

    /** Appends a firing; rewrites the file when it holds far more than {@code limit} lines. */
    void append(FiringResult r, Deque<FiringResult> kept, int limit) {
        Path f = file(r.connectionId());
        try {
            Files.createDirectories(dir);
            try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND)) {
                w.write(encode(r));
                w.write('\n');
            }
            if (lineCount(f) > 2L * limit + 10) {
                Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    for (FiringResult k : kept) {
                        w.write(encode(k));
                        w.write('\n');
                    }
                }
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            LOG.warn("cannot record firing {} of connection '{}' in {}: {}", r.firingId(), r.connectionId(), f, e.toString());
        }
    }

    private static long lineCount(Path f) throws IOException {
        try (var lines = Files.lines(f, StandardCharsets.UTF_8)) {
            return lines.count();
        }
    }

    private Path file(String connectionId) {
        return dir.resolve(connectionId.replaceAll("[^A-Za-z0-9._-]", "_") + ".log");
    }

    static String encode(FiringResult r) {
        List<String> f = new ArrayList<>();
        f.add(VERSION);
        f.add(r.firingId());
        f.add(r.connectionId());
        f.add(r.connectionName());
        f.add(r.cause());
        f.add(r.started().toString());
        f.add(r.ended().toString());
        f.add(r.outcome().name());
        f.add(r.summary());
        MailCounts c = r.counts();
        f.add(c.sent() + "," + c.deferred() + "," + c.failed() + "," + c.collected() + "," + c.skipped());
        List<String> errors = new ArrayList<>();
        for (String e : r.errors()) {
            errors.add(enc(e));
        }
        f.add(String.join(",", errors));
        List<String> phases = new ArrayList<>();
        for (PhaseResult p : r.phases()) {
            phases.add(p.phase().name() + ";" + p.started() + ";" + p.ended() + ";"
                    + p.ok() + ";" + enc(p.message()));
        }
        f.add(String.join(",", phases));
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < f.size(); i++) {
            if (i > 0) {
                b.append('\t');
            }
            // lists are already encoded part by part; plain fields are encoded whole
            b.append(i == 9 || i == 10 || i == 11 ? f.get(i) : enc(f.get(i)));
        }
        return b.toString();
    }

    static FiringResult decode(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 12 || !VERSION.equals(dec(f[0]))) {
            return null;
        }
        String[] c = f[9].split(",");
        MailCounts counts = new MailCounts(Integer.parseInt(c[0]), Integer.parseInt(c[1]), Integer.parseInt(c[2]),
                Integer.parseInt(c[3]), Integer.parseInt(c[4]));
        List<String> errors = new ArrayList<>();
        if (!f[10].isEmpty()) {
            for (String e : f[10].split(",")) {
                errors.add(dec(e));
            }
        }
        List<PhaseResult> phases = new ArrayList<>();
        if (!f[11].isEmpty()) {
            for (String p : f[11].split(",")) {
                String[] q = p.split(";", -1);
                phases.add(new PhaseResult(Phase.valueOf(q[0]), Instant.parse(q[1]), Instant.parse(q[2]),
                        Boolean.parseBoolean(q[3]), dec(q[4])));
            }
        }
        return new FiringResult(dec(f[1]), dec(f[2]), dec(f[3]), dec(f[4]),
                Instant.parse(dec(f[5])), Instant.parse(dec(f[6])),
                Outcome.valueOf(dec(f[7])), dec(f[8]), counts, phases, errors, null);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s == null ? "" : s, StandardCharsets.UTF_8);
    }

    private static String dec(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
