package io.uplink.shell.internal.schedule;

import io.uplink.api.schedule.ScheduleItemStatus;
import io.uplink.api.schedule.ScheduleService;
import io.uplink.shell.internal.Format;

import java.io.PrintStream;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "schedule", name = "list", description = "Lists the schedule items with their next and last firing")
@Service
public class ListCommand implements Action {

    @Reference(optional = true)
    ScheduleService schedule;

    @Override
    public Object execute() throws Exception {
        ScheduleService s = SchedulerBundle.require(this, schedule);
        PrintStream out = System.out;
        if (s.isPaused()) {
            out.println(SchedulerBundle.PAUSED);
        }
        List<ScheduleItemStatus> items = s.items();
        ShellTable table = new ShellTable();
        table.column("Id");
        table.column("Connections");
        table.column("When").maxSize(60);
        table.column("Next firing");
        table.column("Last firing");
        table.column("State");
        for (ScheduleItemStatus i : items) {
            table.addRow().addContent(i.id(), Format.list(i.connections()), Format.wrap(Format.text(i.when()), 60),
                    Format.time(i.nextFiring()), Format.time(i.lastFiring()), Format.text(i.state()));
        }
        table.print(out);
        // The reasons name file and key; they are too long for a column.
        for (ScheduleItemStatus i : items) {
            if (i.reason() != null && !i.reason().isBlank()) {
                out.println(i.id() + ": " + i.reason());
            }
        }
        return null;
    }
}
