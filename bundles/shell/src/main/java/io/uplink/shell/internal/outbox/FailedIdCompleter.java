package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.FailedMail;
import io.uplink.api.mail.FailedMessage;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the ids of the messages in the outbox's failed folder. */
@Service
public class FailedIdCompleter implements Completer {

    @Reference(optional = true)
    FailedMail failedMail;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        if (failedMail == null) {
            return -1;
        }
        List<String> ids = failedMail.failed().stream().map(FailedMessage::id).collect(Collectors.toList());
        return new StringsCompleter(ids).complete(session, commandLine, candidates);
    }
}
