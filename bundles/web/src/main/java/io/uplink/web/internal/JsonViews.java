package io.uplink.web.internal;

import io.uplink.api.ConnectionStatus;
import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.PhaseResult;
import io.uplink.api.Progress;
import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.schedule.ForecastEntry;
import io.uplink.oauth2.AuthorizationStatus;
import io.uplink.oauth2.DeviceCode;
import io.uplink.oauth2.ItemAuthorization;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The JSON shape of the API's records; keys are stable, documented in the README. */
final class JsonViews {

    private JsonViews() {
    }

    static Map<String, Object> connection(ConnectionStatus s, Instant nextFiring) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id());
        m.put("name", s.name());
        m.put("method", s.method());
        m.put("default", s.isDefault());
        m.put("order", s.order());
        m.put("state", s.state());
        m.put("firing", s.state().isFiring());
        m.put("reason", s.reason());
        if (s.node() != null) {
            // in a cluster only: the node that runs its firing now, or ran the last one
            m.put("node", s.node());
        }
        m.put("file", s.file());
        m.put("sender", s.sender());
        m.put("collectors", s.collectors());
        m.put("fallback", s.fallback());
        m.put("problems", s.problems());
        m.put("progress", progress(s.progress()));
        m.put("lastResult", result(s.lastResult()));
        m.put("nextFiring", nextFiring);
        // already masked by the core; sorted so a person finds a key
        Map<String, String> settings = new TreeMap<>(s.settings());
        settings.keySet().removeIf(k -> k.startsWith("osgi.ds.") || k.startsWith("component."));
        m.put("settings", settings);
        return m;
    }

    static Map<String, Object> progress(Progress p) {
        if (p == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("firing", p.firingId());
        m.put("phase", p.phase());
        m.put("message", p.message());
        m.put("done", p.done());
        m.put("total", p.total());
        return m;
    }

    static Map<String, Object> result(FiringResult r) {
        if (r == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("firing", r.firingId());
        m.put("connection", r.connectionId());
        m.put("name", r.connectionName());
        m.put("cause", r.cause());
        if (r.node() != null) {
            // in a cluster only: the node the firing ran on
            m.put("node", r.node());
        }
        m.put("started", r.started());
        m.put("ended", r.ended());
        m.put("durationMs", r.duration().toMillis());
        m.put("outcome", r.outcome());
        m.put("summary", r.summary());
        m.put("counts", counts(r.counts()));
        List<Object> phases = new ArrayList<>();
        for (PhaseResult p : r.phases()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("phase", p.phase());
            pm.put("started", p.started());
            pm.put("ended", p.ended());
            pm.put("durationMs", p.duration().toMillis());
            pm.put("ok", p.ok());
            pm.put("message", p.message());
            phases.add(pm);
        }
        m.put("phases", phases);
        m.put("errors", r.errors());
        m.put("fallback", result(r.fallback()));
        return m;
    }

    static Map<String, Object> counts(MailCounts c) {
        Map<String, Object> m = new LinkedHashMap<>();
        MailCounts k = c == null ? MailCounts.NONE : c;
        m.put("sent", k.sent());
        m.put("deferred", k.deferred());
        m.put("failed", k.failed());
        m.put("collected", k.collected());
        m.put("skipped", k.skipped());
        return m;
    }

    /** A Mail Sender or Collector, with the connections that run it. */
    static Map<String, Object> mailTask(MailTaskStatus t, List<String> linkedConnections) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", t.kind());
        m.put("id", t.id());
        m.put("state", t.state());
        m.put("file", t.file());
        m.put("error", t.error());
        m.put("warnings", t.warnings());
        m.put("server", t.server());
        m.put("connections", linkedConnections);
        m.put("lastRun", t.lastRun());
        m.put("lastResult", t.lastResult());
        m.put("lastError", t.lastError());
        // already masked by the mail bundle
        m.put("settings", new TreeMap<>(t.settings()));
        return m;
    }

    static Map<String, Object> queued(QueuedMessage q) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", q.id());
        m.put("from", q.from());
        m.put("pending", q.pending());
        m.put("size", q.size());
        m.put("queued", q.queued());
        m.put("attempts", q.attempts());
        m.put("nextTry", q.nextTry());
        m.put("lastError", q.lastError());
        m.put("priority", q.priority());
        return m;
    }

    static Map<String, Object> failed(FailedMessage f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", f.id());
        m.put("from", f.from());
        m.put("failed", f.failed());
        m.put("size", f.size());
        m.put("queued", f.queued());
        m.put("failedAt", f.failedAt());
        return m;
    }

    static Map<String, Object> forecast(ForecastEntry f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", f.time());
        m.put("schedule", f.scheduleId());
        m.put("connections", f.connections());
        return m;
    }

    /** An OAuth2 item: its state, and the waiting code for an admin. Never a token. */
    static Map<String, Object> oauth2(ItemAuthorization i, boolean withCode) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id());
        m.put("kind", i.kind());
        m.put("authorized", i.authorized());
        AuthorizationStatus s = i.status();
        m.put("account", s == null ? null : s.username());
        m.put("accessTokenExpiry", s == null ? null : s.accessTokenExpiry());
        m.put("lastRefresh", s == null ? null : s.lastRefresh());
        m.put("lastError", s == null ? i.problem() : s.lastError());
        m.put("pending", withCode && i.pending() != null ? deviceCode(i.pending()) : null);
        return m;
    }

    static Map<String, Object> deviceCode(DeviceCode c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("verificationUri", c.verificationUri());
        m.put("verificationUriComplete", c.verificationUriComplete());
        m.put("userCode", c.userCode());
        m.put("expiresAt", c.expiresAt());
        return m;
    }

    static Map<String, Object> error(String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        return m;
    }
}
