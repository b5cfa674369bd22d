package io.uplink.mail.internal.collect;

import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.mail.Service;
import jakarta.mail.Session;

/**
 * Jakarta Mail sessions kept for the next collector run. Making a {@link Session} reads the providers'
 * resource files through the bundle's class loader and looks for an HK2 service locator that is not there (a
 * failed class lookup with its exception): in the many-mailboxes benchmark that was about 40% of the
 * collector threads' Java samples, once per run of every collector. A session holds nothing of a run but its
 * {@link Properties}, which are read when a store is made and connected: a kept session gets the next run's
 * properties in place of the last one's.
 */
final class MailSessions {

    /** Sessions kept at most (about the number of collector runs at once). */
    private static final int KEEP = 64;

    private static final ConcurrentLinkedQueue<Session> IDLE = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger KEPT = new AtomicInteger();

    private MailSessions() {
    }

    /** A session with exactly {@code props}, used by one run at a time until {@link #give} takes it back. */
    static Session take(Properties props) {
        Session s = IDLE.poll();
        if (s == null) {
            return Session.getInstance(props);
        }
        KEPT.decrementAndGet();
        Properties live = s.getProperties();
        live.clear();
        live.putAll(props);
        return s;
    }

    /**
     * Takes back a session whose store ({@code used}, or null) is closed. What the run put into it (its socket
     * factories and deadline in the properties, a remembered password if Jakarta Mail saved one) goes with it.
     */
    static void give(Session s, Service used) {
        if (used != null && used.getURLName() != null) {
            s.setPasswordAuthentication(used.getURLName(), null);
        }
        s.getProperties().clear();
        if (KEPT.incrementAndGet() <= KEEP) {
            IDLE.offer(s);
        } else {
            KEPT.decrementAndGet();
        }
    }
}
