package io.uplink.oauth2.internal.command;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Exception;

@Command(scope = "oauth", name = "revoke", description = "Revokes an item's authorization at the provider "
        + "(where it has a revocation endpoint) and forgets its tokens here")
@Service
public class RevokeCommand extends ItemAction {

    @Override
    public Object execute() throws Exception {
        try {
            OAuth2Account a = items.account(id);
            boolean atProvider = tokens.revoke(a);
            System.out.println(a.item() + ": tokens for " + a.username() + " forgotten"
                    + (atProvider ? " and revoked at the provider" : a.revokeUrl() == null
                            ? " (the provider has no revocation endpoint: remove the app's consent in the account settings)"
                            : " (the provider refused the revocation)")
                    + ".");
        } catch (OAuth2Exception e) {
            throw new IllegalStateException(e.getMessage()); // one line, the command's status 1
        }
        return null;
    }
}
