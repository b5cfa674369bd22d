package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.MethodInfo;
import io.uplink.shell.internal.Format;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

@Command(scope = "connection", name = "methods", description = "Lists the installed connection methods")
@Service
public class MethodsCommand implements Action {

    @Reference
    ConnectionService connections;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Method");
        table.column("Bundle");
        table.column("Version");
        table.column("Description").maxSize(80);
        for (MethodInfo m : connections.methods()) {
            table.addRow().addContent(m.name(), Format.text(m.bundle()), Format.text(m.version()),
                    Format.wrap(Format.text(m.description()), 80));
        }
        table.print(System.out);
        return null;
    }
}
