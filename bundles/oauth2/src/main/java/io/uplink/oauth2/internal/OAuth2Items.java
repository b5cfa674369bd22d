package io.uplink.oauth2.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;
import io.uplink.oauth2.OAuth2Account;

/**
 * The collectors and senders configured with {@code auth = oauth2}, read from ConfigurationAdmin (the same
 * files the mail bundle reads), so that the commands and the page name items by their ids.
 */
@Component(service = OAuth2Items.class)
public final class OAuth2Items {

    static final String COLLECTOR_PID = "io.uplink.collector";
    static final String SENDER_PID = "io.uplink.sender";

    /** One OAuth2 item, or its configuration problem. */
    public record Item(String id, String kind, OAuth2Account account, String problem) {
    }

    private final ConfigurationAdmin configAdmin;

    @Activate
    public OAuth2Items(@Reference ConfigurationAdmin configAdmin) {
        this.configAdmin = configAdmin;
    }

    /** Every item with {@code auth = oauth2}, senders and collectors, sorted by id. */
    public List<Item> all() throws IOException {
        List<Item> items = new ArrayList<>();
        Configuration[] configs;
        try {
            configs = configAdmin.listConfigurations("(|(service.factoryPid=" + COLLECTOR_PID
                    + ")(service.factoryPid=" + SENDER_PID + "))");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (configs == null) {
            return items;
        }
        for (Configuration c : configs) {
            boolean sender = SENDER_PID.equals(c.getFactoryPid());
            Settings s = Settings.of(sender ? "sender" : "collector", c.getFactoryPid(), c.getProperties());
            try {
                if (!OAuth2Account.isOAuth2(s)) {
                    continue;
                }
                OAuth2Account.Use use = sender ? OAuth2Account.Use.SMTP
                        : "imap".equals(s.string("protocol", "pop3").toLowerCase(Locale.ROOT))
                                ? OAuth2Account.Use.IMAP : OAuth2Account.Use.POP3;
                items.add(new Item(s.id(), s.kind(), OAuth2Account.of(s, use), null));
            } catch (ConfigException e) {
                items.add(new Item(s.id(), s.kind(), null, e.getMessage()));
            }
        }
        items.sort((a, b) -> a.id().compareTo(b.id()));
        return items;
    }

    /**
     * The item's account, its scope widened to every item sharing the account, so that one authorization
     * serves all of them.
     *
     * @throws IllegalArgumentException with a clear message when there is no such OAuth2 item
     */
    public OAuth2Account account(String id) throws IOException {
        List<Item> all = all();
        Item found = null;
        for (Item i : all) {
            if (i.id().equals(id)) {
                found = i;
            }
        }
        if (found == null) {
            throw new IllegalArgumentException("no collector or sender '" + id + "' with auth = oauth2; "
                    + "oauth:status lists them");
        }
        if (found.account() == null) {
            throw new IllegalArgumentException(found.problem());
        }
        List<String> scopes = new ArrayList<>();
        for (Item i : all) {
            if (i.account() != null && i.account().key().equals(found.account().key())) {
                scopes.add(i.account().scope());
            }
        }
        return found.account().withScopes(scopes);
    }
}
