/**
 * The scheduler's implementation: schedule items parsed from their cfg files, the next-firing calculation
 * (windows, days, at-times, Quartz cron, time zones and DST), and the engine that arms one-shot jobs on the
 * Karaf Scheduler and fires connections through {@link io.uplink.api.ConnectionService}.
 */
package io.uplink.scheduler.internal;
