package io.uplink.shell.internal.schedule;

import io.uplink.api.schedule.ScheduleService;

/** The schedule commands' one precondition: the optional scheduler bundle is there. */
final class SchedulerBundle {

    static final String PAUSED = "The schedule is paused: no scheduled firings until schedule:resume.";

    private SchedulerBundle() {
    }

    static ScheduleService require(ScheduleService schedule) {
        if (schedule == null) {
            throw new IllegalStateException("the scheduler bundle is not installed (feature uplink-scheduler)");
        }
        return schedule;
    }
}
