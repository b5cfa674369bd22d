package io.uplink.shell.internal.sender;

import io.uplink.api.mail.MailTaskService;
import io.uplink.api.mail.MailTaskStatus;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** Completes the ids of the configured Mail Senders. */
@Service
public class SenderIdCompleter implements Completer {

    @Reference(optional = true)
    MailTaskService tasks;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        if (tasks == null) {
            return -1;
        }
        List<String> ids = tasks.senders().stream().map(MailTaskStatus::id).collect(Collectors.toList());
        return new StringsCompleter(ids).complete(session, commandLine, candidates);
    }
}
