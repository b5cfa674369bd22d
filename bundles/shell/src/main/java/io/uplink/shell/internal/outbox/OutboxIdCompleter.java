package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the ids of the messages waiting in the outbox. */
@Service
public class OutboxIdCompleter implements Completer {

    @Reference(optional = true)
    Outbox outbox;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        if (outbox == null) {
            return -1;
        }
        List<String> ids = outbox.list().stream().map(QueuedMessage::id).collect(Collectors.toList());
        return new StringsCompleter(ids).complete(session, commandLine, candidates);
    }
}
