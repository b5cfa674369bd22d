package io.uplink.web.internal;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.mail.FailedMail;
import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.oauth2.DeviceCode;
import io.uplink.oauth2.ItemAuthorization;
import io.uplink.oauth2.OAuth2Authorizations;
import io.uplink.oauth2.OAuth2Exception;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.servlet.AsyncContext;
import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The REST API under {@code /uplink/api/}. Reading needs the read role (checked by {@link UplinkContext});
 * firing and hanging up need the fire role and a JSON content type or an {@code X-Uplink-Token} header, which
 * a cross-site form cannot send. GET never changes anything.
 */
@Component(service = Servlet.class, immediate = true, property = {
    "osgi.http.whiteboard.servlet.pattern=/api/*",
    "osgi.http.whiteboard.servlet.name=uplink-api",
    "osgi.http.whiteboard.servlet.asyncSupported=true",
    "osgi.http.whiteboard.context.select=" + UplinkContext.SELECT})
public class ApiServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    static final String TOKEN_HEADER = "X-Uplink-Token";

    private final transient ConnectionService connections;
    private final transient ActivityComponent activity;
    private final transient EventStream stream;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private transient volatile Outbox outbox;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private transient volatile FailedMail failedMail;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private transient volatile ScheduleService schedule;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private transient volatile MailTaskService mailTasks;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private transient volatile OAuth2Authorizations oauth2;

    @Activate
    public ApiServlet(@Reference ConnectionService connections, @Reference ActivityComponent activity) {
        this.connections = connections;
        this.activity = activity;
        this.stream = new EventStream(activity.activity());
    }

    /** The connections that run a sender (they name it) or a collector (it names them, and they exist). */
    private List<String> linked(MailTaskStatus t) {
        List<String> out = new ArrayList<>();
        for (ConnectionStatus c : connections.list()) {
            boolean sender = MailTaskStatus.SENDER.equals(t.kind()) && t.id().equals(c.sender());
            boolean collector = MailTaskStatus.COLLECTOR.equals(t.kind()) && t.connections().contains(c.id());
            if (sender || collector) {
                out.add(c.id());
            }
        }
        return out;
    }

    @Deactivate
    void deactivate() {
        stream.close();
    }

    /** Thrown to answer with an error status and message. */
    static final class HttpError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final String allow;

        HttpError(int status, String message) {
            this(status, message, null);
        }

        HttpError(int status, String message, String allow) {
            super(message);
            this.status = status;
            this.allow = allow;
        }
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            if (!p.isEmpty()) {
                parts.add(p);
            }
        }
        try {
            route(req, resp, req.getMethod().toUpperCase(Locale.ROOT), parts);
        } catch (HttpError e) {
            if (e.allow != null) {
                resp.setHeader("Allow", e.allow);
            }
            send(resp, e.status, JsonViews.error(e.getMessage()));
        } catch (NoSuchConnectionException e) {
            send(resp, HttpServletResponse.SC_NOT_FOUND, JsonViews.error(e.getMessage()));
        }
    }

    private void route(HttpServletRequest req, HttpServletResponse resp, String method, List<String> p)
            throws IOException {
        int n = p.size();
        if (n == 0) {
            get(method);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("user", req.getAttribute(REMOTE_USER));
            m.put("mayFire", Boolean.TRUE.equals(req.getAttribute(UplinkContext.MAY_FIRE)));
            m.put("outbox", outbox != null);
            m.put("schedule", schedule != null);
            m.put("mailTasks", mailTasks != null);
            m.put("oauth2", oauth2 != null);
            m.put("notifyTo", activity.notifyTo());
            send(resp, 200, m);
        } else if (p.get(0).equals("connections")) {
            if (n == 1) {
                get(method);
                List<Object> out = new ArrayList<>();
                for (ConnectionStatus s : connections.list()) {
                    out.add(JsonViews.connection(s, next(s.id())));
                }
                send(resp, 200, out);
            } else if (n == 3 && p.get(1).equals("defaults") && p.get(2).equals("fire")) {
                post(req, method);
                List<Object> out = new ArrayList<>();
                for (Firing f : connections.fireDefaults("web:" + req.getAttribute(REMOTE_USER))) {
                    out.add(firing(f));
                }
                send(resp, 202, Map.of("firings", out));
            } else if (n == 2) {
                get(method);
                ConnectionStatus s = connections.status(p.get(1))
                        .orElseThrow(() -> new NoSuchConnectionException(p.get(1)));
                send(resp, 200, JsonViews.connection(s, next(s.id())));
            } else if (n == 3 && p.get(2).equals("fire")) {
                post(req, method);
                Firing f = connections.fire(p.get(1), "web:" + req.getAttribute(REMOTE_USER));
                send(resp, 202, firing(f));
            } else if (n == 3 && p.get(2).equals("hangup")) {
                post(req, method);
                boolean any = connections.hangup(p.get(1));
                send(resp, 200, Map.of("connection", p.get(1), "hungUp", any));
            } else if (n == 3 && p.get(2).equals("log")) {
                get(method);
                known(p.get(1));
                List<String> lines = activity.activity().log().tail(p.get(1), limit(req, 200, 5000));
                send(resp, 200, Map.of("connection", p.get(1), "lines", lines));
            } else {
                throw new HttpError(404, "no such resource: " + req.getRequestURI());
            }
        } else if ((p.get(0).equals("senders") || p.get(0).equals("collectors")) && n <= 2) {
            get(method);
            MailTaskService m = mailTasks;
            if (m == null) {
                throw new HttpError(503, "Mail Senders and Collectors are not installed (they come with Uplink's mail bundle)");
            }
            boolean senders = p.get(0).equals("senders");
            if (n == 1) {
                List<Object> out = new ArrayList<>();
                for (MailTaskStatus t : senders ? m.senders() : m.collectors()) {
                    out.add(JsonViews.mailTask(t, linked(t)));
                }
                send(resp, 200, out);
            } else {
                String id = p.get(1);
                MailTaskStatus t = (senders ? m.sender(id) : m.collector(id)).orElseThrow(() -> new HttpError(404,
                        (senders ? "sender '" : "collector '") + id + "' is not configured"));
                send(resp, 200, JsonViews.mailTask(t, linked(t)));
            }
        } else if (n == 1 && p.get(0).equals("history")) {
            get(method);
            String id = blankToNull(req.getParameter("connection"));
            if (id != null) {
                known(id);
            }
            List<Object> out = new ArrayList<>();
            for (FiringResult r : connections.history(id, limit(req, 50, 1000))) {
                out.add(JsonViews.result(r));
            }
            send(resp, 200, out);
        } else if (n == 1 && p.get(0).equals("activity")) {
            get(method);
            String id = blankToNull(req.getParameter("connection"));
            List<Object> out = new ArrayList<>();
            for (ActivityEntry e : activity.activity().recent(id, 0, limit(req, 100, Activity.RECENT))) {
                out.add(EventStream.view(e));
            }
            send(resp, 200, out);
        } else if (p.get(0).equals("outbox")) {
            outbox(req, resp, method, p);
        } else if (p.get(0).equals("oauth2")) {
            oauth2(req, resp, method, p);
        } else if (n == 1 && p.get(0).equals("events")) {
            get(method);
            events(req, resp);
        } else if (n == 2 && p.get(0).equals("schedule") && (p.get(1).equals("pause") || p.get(1).equals("resume"))) {
            post(req, method);
            ScheduleService s = schedule();
            if (p.get(1).equals("pause")) {
                s.pause();
            } else {
                s.resume();
            }
            send(resp, 200, Map.of("paused", s.isPaused()));
        } else if (n == 2 && p.get(0).equals("schedule") && p.get(1).equals("next")) {
            get(method);
            ScheduleService s = schedule();
            List<Object> out = new ArrayList<>();
            for (ForecastEntry f : s.next(limit(req, 10, 100))) {
                out.add(JsonViews.forecast(f));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("paused", s.isPaused());
            m.put("next", out);
            send(resp, 200, m);
        } else {
            throw new HttpError(404, "no such resource: " + req.getRequestURI());
        }
    }

    /**
     * {@code GET outbox}: the queue and the failed folder; {@code POST outbox/{id}/retry},
     * {@code DELETE outbox/{id}}, {@code POST outbox/failed/{id}/requeue}, {@code POST outbox/failed/requeue}
     * (all) and {@code DELETE outbox/failed/{id}} for those who may fire.
     */
    private void outbox(HttpServletRequest req, HttpServletResponse resp, String method, List<String> p)
            throws IOException {
        int n = p.size();
        Outbox o = outbox;
        FailedMail f = failedMail;
        if (o == null || f == null) {
            throw new HttpError(503, "the outbox is not installed (it comes with Uplink's mail bundle)");
        }
        if (n == 1) {
            get(method);
            List<Object> msgs = new ArrayList<>();
            for (QueuedMessage q : o.list()) {
                msgs.add(JsonViews.queued(q));
            }
            List<Object> failed = new ArrayList<>();
            for (FailedMessage m : f.failed()) {
                failed.add(JsonViews.failed(m));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("size", o.size());
            m.put("messages", msgs);
            m.put("failed", failed);
            send(resp, 200, m);
        } else if (n == 3 && p.get(1).equals("failed") && p.get(2).equals("requeue")) {
            post(req, method);
            send(resp, 200, Map.of("requeued", f.requeueAll()));
        } else if (n == 4 && p.get(1).equals("failed") && p.get(3).equals("requeue")) {
            post(req, method);
            String id = f.requeue(p.get(2))
                    .orElseThrow(() -> new HttpError(404, "no message '" + p.get(2) + "' in the failed folder"));
            send(resp, 200, Map.of("failed", p.get(2), "queued", id));
        } else if (n == 3 && p.get(1).equals("failed")) {
            change(req, method, "DELETE");
            if (!f.deleteFailed(p.get(2))) {
                throw new HttpError(404, "no message '" + p.get(2) + "' in the failed folder");
            }
            send(resp, 200, Map.of("deleted", p.get(2)));
        } else if (n == 3 && p.get(2).equals("retry")) {
            post(req, method);
            if (!o.retry(p.get(1))) {
                throw new HttpError(404, "no message '" + p.get(1) + "' in the outbox");
            }
            send(resp, 200, Map.of("retry", p.get(1)));
        } else if (n == 2) {
            change(req, method, "DELETE");
            try {
                if (!o.delete(p.get(1))) {
                    throw new HttpError(404, "no message '" + p.get(1) + "' in the outbox");
                }
            } catch (IllegalStateException busy) {
                throw new HttpError(409, busy.getMessage());
            }
            send(resp, 200, Map.of("deleted", p.get(1)));
        } else {
            throw new HttpError(404, "no such resource: " + req.getRequestURI());
        }
    }

    /**
     * {@code GET oauth2}: the items with {@code auth = oauth2}, authorized or not (the code of a waiting
     * authorization only for those who may fire); {@code POST oauth2/{id}/authorize} (fire role): starts the device
     * grant and answers with the code and the page to open. Never a token.
     */
    private void oauth2(HttpServletRequest req, HttpServletResponse resp, String method, List<String> p)
            throws IOException {
        OAuth2Authorizations o = oauth2;
        if (o == null) {
            throw new HttpError(503, "OAuth2 sign-in is not installed (it comes with Uplink's OAuth2 bundle)");
        }
        int n = p.size();
        if (n == 1) {
            get(method);
            boolean admin = Boolean.TRUE.equals(req.getAttribute(UplinkContext.MAY_FIRE));
            List<Object> out = new ArrayList<>();
            for (ItemAuthorization i : o.items()) {
                out.add(JsonViews.oauth2(i, admin));
            }
            send(resp, 200, out);
        } else if (n == 3 && p.get(2).equals("authorize")) {
            post(req, method);
            DeviceCode code;
            try {
                code = o.start(p.get(1));
            } catch (IllegalArgumentException e) {
                throw new HttpError(404, e.getMessage());
            } catch (OAuth2Exception e) {
                throw new HttpError(502, e.getMessage());
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", p.get(1));
            m.putAll(JsonViews.deviceCode(code));
            send(resp, 202, m);
        } else {
            throw new HttpError(404, "no such resource: " + req.getRequestURI());
        }
    }

    private ScheduleService schedule() {
        ScheduleService s = schedule;
        if (s == null) {
            throw new HttpError(503, "the schedule is not installed (feature uplink-scheduler)");
        }
        return s;
    }

    private void events(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String id = blankToNull(req.getParameter("connection"));
        long after = -1;
        String last = req.getHeader("Last-Event-ID");
        if (last != null) {
            try {
                after = Long.parseLong(last.trim());
            } catch (NumberFormatException e) {
                after = -1;
            }
        }
        resp.setStatus(200);
        resp.setContentType("text/event-stream");
        resp.setCharacterEncoding("UTF-8");
        resp.setHeader("Cache-Control", "no-cache");
        resp.setHeader("X-Accel-Buffering", "no");
        resp.flushBuffer();
        AsyncContext async = req.startAsync();
        async.setTimeout(0);
        // a fresh page starts with the present; a reconnect replays what it missed
        stream.open(async, resp.getOutputStream(), id, after < 0 ? Long.MAX_VALUE : after);
    }

    private Instant next(String id) {
        ScheduleService s = schedule;
        if (s == null) {
            return null;
        }
        try {
            return s.nextFiring(id).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void known(String id) {
        if (connections.status(id).isEmpty()) {
            throw new NoSuchConnectionException(id);
        }
    }

    private static Map<String, Object> firing(Firing f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("firing", f.id());
        m.put("connection", f.connectionId());
        return m;
    }

    private static void get(String method) {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            throw new HttpError(405, "use GET here", "GET, HEAD");
        }
    }

    private static void post(HttpServletRequest req, String method) {
        change(req, method, "POST");
    }

    /** A request that changes something: only with {@code expected}, a non-form request and the fire role. */
    private static void change(HttpServletRequest req, String method, String expected) {
        if (!method.equals(expected)) {
            throw new HttpError(405, "use " + expected + " here", expected);
        }
        String type = req.getContentType();
        boolean json = type != null && type.toLowerCase(Locale.ROOT).startsWith("application/json");
        String token = req.getHeader(TOKEN_HEADER);
        if (!json && (token == null || token.isBlank())) {
            // a cross-site form can send neither without the browser asking this server first (CORS)
            throw new HttpError(403, "send Content-Type: application/json or an " + TOKEN_HEADER + " header");
        }
        if (!Boolean.TRUE.equals(req.getAttribute(UplinkContext.MAY_FIRE))) {
            throw new HttpError(403, "user '" + req.getAttribute(REMOTE_USER) + "' lacks the role '"
                    + req.getAttribute(UplinkContext.MAY_FIRE + ".role") + "'");
        }
    }

    private static int limit(HttpServletRequest req, int def, int max) {
        String s = blankToNull(req.getParameter("limit"));
        if (s == null) {
            s = blankToNull(req.getParameter("count"));
        }
        if (s == null) {
            return def;
        }
        try {
            int v = Integer.parseInt(s);
            if (v < 1 || v > max) {
                throw new HttpError(400, "limit must be between 1 and " + max + ", got '" + s + "'");
            }
            return v;
        } catch (NumberFormatException e) {
            // digits too many for an int are a number out of range, not "not a number"
            throw new HttpError(400, s.matches("[+-]?\\d+")
                    ? "limit must be between 1 and " + max + ", got '" + s + "'"
                    : "limit must be a number, got '" + s + "'");
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    static void send(HttpServletResponse resp, int status, Object body) throws IOException {
        byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
        resp.setStatus(status);
        resp.setContentType("application/json");
        resp.setCharacterEncoding("UTF-8");
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setContentLength(bytes.length);
        resp.getOutputStream().write(bytes);
    }

    private static final String REMOTE_USER = org.osgi.service.http.context.ServletContextHelper.REMOTE_USER;
}
