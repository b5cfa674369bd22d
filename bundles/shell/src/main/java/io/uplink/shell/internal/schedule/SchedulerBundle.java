package io.uplink.shell.internal.schedule;

import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.support.CommandException;

/** The schedule commands' one precondition: the optional scheduler bundle is there. */
final class SchedulerBundle {

    static final String PAUSED = "The schedule is paused: no scheduled firings until schedule:resume.";

    private SchedulerBundle() {
    }

    static ScheduleService require(Object command, ScheduleService schedule) throws CommandException {
        if (schedule == null) {
            throw UserError.of(command, "the scheduler bundle is not installed (feature uplink-scheduler)");
        }
        return schedule;
    }
}
