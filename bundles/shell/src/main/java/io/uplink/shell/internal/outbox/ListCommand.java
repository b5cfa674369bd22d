package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.shell.internal.Format;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "outbox", name = "list", description = "Lists the messages waiting in the outgoing queue, oldest first")
@Service
public class ListCommand implements Action {

    @Reference(optional = true)
    Outbox outbox;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Id");
        table.column("From");
        table.column("Recipients").maxSize(50);
        table.column("Size").alignRight();
        table.column("Attempts").alignRight();
        table.column("Next try");
        table.column("Last error").maxSize(60);
        for (QueuedMessage m : MailBundle.require(this, outbox).list()) {
            table.addRow().addContent(m.id(), Format.text(m.from()), Format.wrap(Format.list(m.pending()), 50), Format.size(m.size()),
                    m.attempts(), m.nextTry() == null ? "next firing" : Format.time(m.nextTry()),
                    Format.wrap(Format.text(m.lastError()), 60));
        }
        table.print(System.out);
        return null;
    }
}
