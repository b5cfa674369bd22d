package io.uplink.shell.internal.schedule;

import io.uplink.api.schedule.ForecastEntry;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.Format;
import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "schedule", name = "next", description = "Shows the next scheduled firings across all items, deny windows applied")
@Service
public class NextCommand implements Action {

    @Argument(index = 0, name = "count", description = "How many firings (default 5)")
    int count = 5;

    @Reference(optional = true)
    ScheduleService schedule;

    @Override
    public Object execute() throws Exception {
        ScheduleService s = SchedulerBundle.require(this, schedule);
        if (count < 1) {
            throw UserError.of(this, "count must be at least 1, got " + count);
        }
        if (s.isPaused()) {
            System.out.println(SchedulerBundle.PAUSED);
        }
        ShellTable table = new ShellTable();
        table.column("Time");
        table.column("Schedule");
        table.column("Connections");
        for (ForecastEntry e : s.next(count)) {
            table.addRow().addContent(Format.time(e.time()), e.scheduleId(), Format.list(e.connections()));
        }
        table.print(System.out);
        return null;
    }
}
