package io.uplink.cluster.internal;

import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;

/**
 * The Quartz job of one connection (its key's name is the connection's id). Quartz runs it on one node at a time,
 * cluster-wide, and runs it again on another node when this one dies during it (requests recovery).
 */
@DisallowConcurrentExecution
public final class FiringJob implements Job {

    private final PgCluster cluster;

    FiringJob(PgCluster cluster) {
        this.cluster = cluster;
    }

    @Override
    public void execute(JobExecutionContext context) {
        cluster.runHere(context.getJobDetail().getKey().getName(), context.getTrigger().getKey().getName());
    }
}
