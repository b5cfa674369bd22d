package io.uplink.oauth2.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

import io.uplink.oauth2.OAuth2Tokens;
import io.uplink.oauth2.internal.OAuth2Items;

/** What the commands about one OAuth2 item share: its id and the services. */
abstract class ItemAction implements Action {

    @Argument(index = 0, name = "id", description = "the collector or sender id", required = true)
    @Completion(ItemCompleter.class)
    String id;

    @Reference
    OAuth2Tokens tokens;

    @Reference
    OAuth2Items items;
}
