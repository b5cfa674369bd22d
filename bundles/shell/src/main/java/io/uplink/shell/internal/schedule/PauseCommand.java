package io.uplink.shell.internal.schedule;

import io.uplink.api.schedule.ScheduleService;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "schedule", name = "pause", description = "Stops all scheduled firings until schedule:resume (also across restarts); firing by hand still works")
@Service
public class PauseCommand implements Action {

    @Reference(optional = true)
    ScheduleService schedule;

    @Override
    public Object execute() throws Exception {
        SchedulerBundle.require(this, schedule).pause();
        System.out.println(SchedulerBundle.PAUSED);
        return null;
    }
}
