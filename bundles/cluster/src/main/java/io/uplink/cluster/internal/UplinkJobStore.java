package io.uplink.cluster.internal;

import org.quartz.impl.jdbcjobstore.JobStoreTX;
import org.quartz.impl.jdbcjobstore.SchedulerStateRecord;

/**
 * Quartz's JDBC JobStore with one change: a node is taken for dead one check-in interval after its check-in was due,
 * instead of Quartz's fixed 7.5 s grace, so that failure detection follows {@code checkin.interval} alone
 * (twice the interval).
 */
final class UplinkJobStore extends JobStoreTX {

    @Override
    protected long calcFailedIfAfter(SchedulerStateRecord rec) {
        long sinceOurs = System.currentTimeMillis() - lastCheckin;
        return rec.getCheckinTimestamp() + Math.max(rec.getCheckinInterval(), sinceOurs) + rec.getCheckinInterval();
    }
}
