package io.uplink.oauth2.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;

import io.uplink.oauth2.AuthorizationStatus;
import io.uplink.oauth2.OAuth2Tokens;
import io.uplink.oauth2.internal.OAuth2Items;

@Command(scope = "oauth", name = "status", description = "Lists the collectors and senders with auth = oauth2: "
        + "authorized or not, account, access-token expiry, last refresh, last error (never a token)")
@Service
public class StatusCommand implements Action {

    @Reference
    OAuth2Tokens tokens;

    @Reference
    OAuth2Items items;

    @Override
    public Object execute() throws Exception {
        ShellTable table = new ShellTable();
        table.column("Id");
        table.column("Kind");
        table.column("Authorized");
        table.column("Account");
        table.column("Token expires");
        table.column("Last refresh");
        table.column("Last error").maxSize(70).wrap();
        for (OAuth2Items.Item i : items.all()) {
            if (i.account() == null) {
                table.addRow().addContent(i.id(), i.kind(), "no", "", "", "", i.problem());
                continue;
            }
            AuthorizationStatus s = tokens.status(i.account());
            table.addRow().addContent(i.id(), i.kind(), s.authorized() ? "yes" : "no", s.username(),
                    s.accessTokenExpiry() == null ? "" : s.accessTokenExpiry().toString(),
                    s.lastRefresh() == null ? "" : s.lastRefresh().toString(),
                    s.lastError() == null ? "" : s.lastError());
        }
        table.print(System.out);
        return null;
    }
}
