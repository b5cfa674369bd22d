package io.uplink.shell.internal.schedule;

import io.uplink.api.schedule.ScheduleService;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "schedule", name = "resume", description = "Restarts the scheduled firings after schedule:pause")
@Service
public class ResumeCommand implements Action {

    @Reference(optional = true)
    ScheduleService schedule;

    @Override
    public Object execute() throws Exception {
        SchedulerBundle.require(this, schedule).resume();
        System.out.println("The schedule runs again.");
        return null;
    }
}
