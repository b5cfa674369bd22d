package io.uplink.oauth2.internal.command;

import java.io.IOException;
import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

import io.uplink.oauth2.internal.OAuth2Items;

/** Completes the ids of items with {@code auth = oauth2}. */
@Service
public class ItemCompleter implements Completer {

    @Reference
    OAuth2Items items;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        try {
            for (OAuth2Items.Item i : items.all()) {
                delegate.getStrings().add(i.id());
            }
        } catch (IOException e) {
            // nothing to offer
        }
        return delegate.complete(session, commandLine, candidates);
    }
}
