package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.FailedMessage;
import io.uplink.api.mail.FailedMail;
import io.uplink.shell.internal.Format;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.uplink.shell.internal.UserError;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "outbox", name = "failed", description = "Lists the messages the outbox gave up on (failed/), newest failure first, with the reasons")
@Service
public class FailedCommand implements Action {

    @Reference(optional = true)
    FailedMail failedMail;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Id");
        table.column("From");
        table.column("Failed recipients and reasons").maxSize(80).wrap();
        table.column("Size").alignRight();
        table.column("Queued");
        table.column("Failed");
        for (FailedMessage m : MailBundle.require(this, failedMail).failed()) {
            List<String> why = new ArrayList<>();
            for (Map.Entry<String, String> f : m.failed().entrySet()) {
                why.add(f.getKey() + ": " + f.getValue());
            }
            table.addRow().addContent(m.id(), m.from().isEmpty() ? "<>" : m.from(), String.join("; ", why),
                    Format.size(m.size()), Format.time(m.queued()), Format.time(m.failedAt()));
        }
        table.print(System.out);
        return null;
    }
}
