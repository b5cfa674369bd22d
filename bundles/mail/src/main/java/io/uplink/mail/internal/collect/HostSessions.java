package io.uplink.mail.internal.collect;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

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

    private final Map<String, int[]> open = new ConcurrentHashMap<>();
    private volatile int limit;

    HostSessions(int limit) {
        this.limit = limit;
    }

    /** The bundle's one instance. */
    public static HostSessions shared() {
        return SHARED;
    }

    /** Changes the limit; sessions over a lowered limit finish, new ones wait. */
    public void setLimit(int newLimit) {
        limit = newLimit;
        for (int[] count : open.values()) {
            synchronized (count) {
                count.notifyAll();
            }
        }
    }

    public int limit() {
        return limit;
    }

    /** Waits until a session to {@code host} may open, and counts it until {@link #release}. */
    public void acquire(String host) throws InterruptedException {
        int[] count = open.computeIfAbsent(key(host), k -> new int[1]);
        synchronized (count) {
            while (count[0] >= limit) {
                count.wait();
            }
            count[0]++;
        }
    }

    public void release(String host) {
        int[] count = open.get(key(host));
        if (count == null) {
            return;
        }
        synchronized (count) {
            count[0]--;
            count.notifyAll();
        }
    }

    /** Sessions open to {@code host} now. */
    public int open(String host) {
        int[] count = open.get(key(host));
        if (count == null) {
            return 0;
        }
        synchronized (count) {
            return count[0];
        }
    }

    private static String key(String host) {
        return host.toLowerCase(Locale.ROOT);
    }
}
