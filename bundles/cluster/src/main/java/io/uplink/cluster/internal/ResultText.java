package io.uplink.cluster.internal;

import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;
import io.uplink.api.Phase;
import io.uplink.api.PhaseResult;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * A {@link FiringResult} as the text kept in {@code uplink_firing.result}: Java properties (their own escaping),
 * so every node reads what another wrote; a fallback firing is nested under {@code fallback.}.
 */
final class ResultText {

    private ResultText() {
    }

    static String write(FiringResult r) {
        Properties p = new Properties();
        put(p, "", r);
        StringWriter w = new StringWriter();
        try {
            p.store(w, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // the first line is store()'s date comment
        String s = w.toString();
        return s.substring(s.indexOf('\n') + 1);
    }

    static FiringResult read(String text) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return get(p, "");
    }

    private static void put(Properties p, String at, FiringResult r) {
        p.setProperty(at + "id", r.firingId());
        p.setProperty(at + "connection", r.connectionId());
        p.setProperty(at + "name", nz(r.connectionName()));
        p.setProperty(at + "cause", nz(r.cause()));
        p.setProperty(at + "started", r.started().toString());
        p.setProperty(at + "ended", r.ended().toString());
        p.setProperty(at + "outcome", r.outcome().name());
        p.setProperty(at + "summary", nz(r.summary()));
        MailCounts c = r.counts() == null ? MailCounts.NONE : r.counts();
        p.setProperty(at + "counts", c.sent() + " " + c.deferred() + " " + c.failed() + " " + c.collected() + " " + c.skipped());
        for (int i = 0; i < r.phases().size(); i++) {
            PhaseResult ph = r.phases().get(i);
            String k = at + "phase." + i + ".";
            p.setProperty(k + "phase", ph.phase().name());
            p.setProperty(k + "started", ph.started().toString());
            p.setProperty(k + "ended", ph.ended().toString());
            p.setProperty(k + "ok", Boolean.toString(ph.ok()));
            p.setProperty(k + "message", nz(ph.message()));
        }
        for (int i = 0; i < r.errors().size(); i++) {
            p.setProperty(at + "error." + i, r.errors().get(i));
        }
        if (r.fallback() != null) {
            put(p, at + "fallback.", r.fallback());
        }
    }

    private static FiringResult get(Properties p, String at) {
        String[] c = p.getProperty(at + "counts", "0 0 0 0 0").split(" ");
        MailCounts counts = new MailCounts(Integer.parseInt(c[0]), Integer.parseInt(c[1]), Integer.parseInt(c[2]),
                Integer.parseInt(c[3]), Integer.parseInt(c[4]));
        List<PhaseResult> phases = new ArrayList<>();
        for (int i = 0; p.containsKey(at + "phase." + i + ".phase"); i++) {
            String k = at + "phase." + i + ".";
            phases.add(new PhaseResult(Phase.valueOf(p.getProperty(k + "phase")), Instant.parse(p.getProperty(k + "started")),
                    Instant.parse(p.getProperty(k + "ended")), Boolean.parseBoolean(p.getProperty(k + "ok")),
                    p.getProperty(k + "message")));
        }
        List<String> errors = new ArrayList<>();
        for (int i = 0; p.containsKey(at + "error." + i); i++) {
            errors.add(p.getProperty(at + "error." + i));
        }
        FiringResult fallback = p.containsKey(at + "fallback.id") ? get(p, at + "fallback.") : null;
        return new FiringResult(p.getProperty(at + "id"), p.getProperty(at + "connection"), p.getProperty(at + "name"),
                p.getProperty(at + "cause"), Instant.parse(p.getProperty(at + "started")),
                Instant.parse(p.getProperty(at + "ended")), Outcome.valueOf(p.getProperty(at + "outcome")),
                p.getProperty(at + "summary"), counts, phases, errors, fallback);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
