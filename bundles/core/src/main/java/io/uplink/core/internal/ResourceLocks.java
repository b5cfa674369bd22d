package io.uplink.core.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Exclusive resources (a modem port) held by firings: a firing takes all of its resources at once or
 * waits, so two connections sharing a resource never run together and no two firings deadlock.
 */
final class ResourceLocks {

    private final Map<String, String> holders = new HashMap<>();

    /** Takes every resource, waiting while any is held; {@code onWait} is told who holds one, once. */
    synchronized void acquire(Set<String> resources, String holder, java.util.function.Consumer<String> onWait)
            throws InterruptedException {
        boolean told = false;
        while (true) {
            String busy = null;
            for (String r : resources) {
                String h = holders.get(r);
                if (h != null && !h.equals(holder)) {
                    busy = r + " (held by connection '" + h + "')";
                    break;
                }
            }
            if (busy == null) {
                for (String r : resources) {
                    holders.put(r, holder);
                }
                return;
            }
            if (!told) {
                onWait.accept("waiting for " + busy);
                told = true;
            }
            wait();
        }
    }

    synchronized void release(Set<String> resources, String holder) {
        for (String r : resources) {
            holders.remove(r, holder);
        }
        notifyAll();
    }
}
