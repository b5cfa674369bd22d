package io.uplink.mail.internal.collect;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * How many collector sessions may be open to one server host at once ({@code maxSessionsPerHost} in
 * {@code etc/io.uplink.mail.cfg}, default 8), across all collectors and firings. Servers limit sessions per
 * client address (Dovecot's {@code mail_max_userip_connections}, providers' per-IP limits), and past a
 * handful of sessions a server answers no faster, so more only cost memory and refusals.
 */
public final class HostSessions {

    /** The default of {@code maxSessionsPerHost}. */
    public static final int DEFAULT_LIMIT = 8;

    private static final HostSessions SHARED = new HostSessions(DEFAULT_LIMIT);

    private final Map<String, Host> open = new ConcurrentHashMap<>();
    private volatile int limit;

    /**
     * One host's sessions: a fair semaphore, so a session that ends wakes the one collector that waited
     * longest (a monitor's {@code notifyAll} woke every waiting collector thread each time), sized to the
     * limit, and resized when it changes.
     */
    private static final class Host extends Semaphore {
        private static final long serialVersionUID = 1L;
        private int size;

        Host(int size) {
            super(size, true);
            this.size = size;
        }

        synchronized void resize(int newSize) {
            int change = newSize - size;
            size = newSize;
            if (change > 0) {
                release(change);
            } else if (change < 0) {
                // sessions over a lowered limit finish; no new one starts until the count is below it
                reducePermits(-change);
            }
        }

        synchronized int inUse() {
            return size - availablePermits();
        }
    }

    HostSessions(int limit) {
        this.limit = limit;
    }

    /** The bundle's one instance. */
    public static HostSessions shared() {
        return SHARED;
    }

    /** Changes the limit; sessions over a lowered limit finish, new ones wait. */
    public synchronized void setLimit(int newLimit) {
        limit = newLimit;
        for (Host h : open.values()) {
            h.resize(newLimit);
        }
    }

    public int limit() {
        return limit;
    }

    /** Waits until a session to {@code host} may open, and counts it until {@link #release}. */
    public void acquire(String host) throws InterruptedException {
        Host h = open.get(key(host));
        if (h == null) {
            synchronized (this) {
                // under the lock that setLimit holds: a new host starts at the current limit
                h = open.computeIfAbsent(key(host), k -> new Host(limit));
            }
        }
        h.acquire();
    }

    public void release(String host) {
        Host h = open.get(key(host));
        if (h != null) {
            h.release();
        }
    }

    /** Sessions open to {@code host} now. */
    public int open(String host) {
        Host h = open.get(key(host));
        return h == null ? 0 : h.inUse();
    }

    private static String key(String host) {
        return host.toLowerCase(Locale.ROOT);
    }
}
