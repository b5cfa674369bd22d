package io.uplink.web.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.servlet.AsyncContext;
import javax.servlet.AsyncEvent;
import javax.servlet.AsyncListener;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Server-Sent Events clients of {@code /uplink/api/events}. Entries are written from one thread of its
 * own, in the order they happened, so a slow browser never holds up EventAdmin; a comment every 15 s finds
 * clients that went away.
 */
final class EventStream {

    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);

    private final ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "uplink-web-events");
        t.setDaemon(true);
        return t;
    });
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();
    private final Activity activity;

    EventStream(Activity activity) {
        this.activity = activity;
        writer.scheduleWithFixedDelay(() -> clients.forEach(c -> c.write(": keep-alive\n\n")), 15, 15,
                TimeUnit.SECONDS);
    }

    int clients() {
        return clients.size();
    }

    /** Starts streaming to an async request; {@code connection} filters, {@code afterSeq} replays what was missed. */
    void open(AsyncContext async, OutputStream out, String connection, long afterSeq) {
        Client c = new Client(async, out, connection);
        async.addListener(new AsyncListener() {
            @Override
            public void onComplete(AsyncEvent event) {
                c.close();
            }

            @Override
            public void onTimeout(AsyncEvent event) {
                c.close();
            }

            @Override
            public void onError(AsyncEvent event) {
                c.close();
            }

            @Override
            public void onStartAsync(AsyncEvent event) {
            }
        });
        clients.add(c);
        writer.execute(() -> c.write("retry: 3000\n: connected\n\n"));
        c.unsubscribe = activity.subscribe(afterSeq, e -> {
            if (connection == null || connection.equals(e.connection())) {
                String data = "id: " + e.seq() + "\ndata: " + Json.write(view(e)) + "\n\n";
                writer.execute(() -> c.write(data));
            }
        });
    }

    static Map<String, Object> view(ActivityEntry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("time", e.time());
        m.put("type", e.type());
        m.put("connection", e.connection());
        m.put("text", e.text());
        m.put("properties", e.properties());
        return m;
    }

    void close() {
        writer.shutdownNow();
        for (Client c : clients) {
            c.close();
        }
    }

    private final class Client {
        final AsyncContext async;
        final OutputStream out;
        final String connection;
        volatile Runnable unsubscribe;
        volatile boolean closed;

        Client(AsyncContext async, OutputStream out, String connection) {
            this.async = async;
            this.out = out;
            this.connection = connection;
        }

        void write(String text) {
            if (closed) {
                return;
            }
            try {
                out.write(text.getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException | RuntimeException e) {
                LOG.debug("event stream client gone: {}", e.toString());
                close();
            }
        }

        void close() {
            if (closed) {
                return;
            }
            closed = true;
            clients.remove(this);
            Runnable u = unsubscribe;
            if (u != null) {
                u.run();
            }
            try {
                async.complete();
            } catch (RuntimeException e) {
                // already completed by the container
            }
        }
    }
}
