package io.uplink.oauth2.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;

import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Exception;

@Command(scope = "oauth", name = "authorize", description = "Authorizes a collector or sender with auth = oauth2: "
        + "shows a code to enter at the provider's page, and waits until a person approved it")
@Service
public class AuthorizeCommand extends ItemAction {

    @Reference
    Session session;

    @Override
    public Object execute() throws Exception {
        // the session's console, not System.out: through ssh exec (bin/uplink) System.out reaches the caller only
        // when the command has ended, too late for a code the person must enter while it waits
        PrintStream out = session.getConsole();
        OAuth2Account a = items.account(id);
        try {
            tokens.authorize(a, code -> {
                out.println("To authorize " + a.item() + " for " + a.username() + ":");
                out.println("  open   " + code.verificationUri());
                out.println("  enter  " + code.userCode());
                if (code.verificationUriComplete() != null) {
                    out.println("  (or open " + code.verificationUriComplete() + ")");
                }
                out.println("Waiting for the approval (the code expires at " + code.expiresAt() + ") ...");
                out.flush();
            });
            out.println("Authorized: " + a.item() + " signs in as " + a.username() + ".");
        } catch (OAuth2Exception e) {
            throw new IllegalStateException(e.getMessage()); // one line, the command's status 1
        }
        return null;
    }
}
