package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.shell.internal.Format;
import io.uplink.shell.internal.UserError;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.FileCompleter;

@Command(scope = "outbox", name = "queue", description = "Queues an RFC 5322 message file for sending at the next firing")
@Service
public class QueueCommand implements Action {

    @Argument(index = 0, name = "file", description = "The message file (RFC 5322: headers, blank line, body)", required = true)
    @Completion(FileCompleter.class)
    String file;

    @Option(name = "--from", aliases = "-f", description = "The envelope sender (default: the Sender or From header)")
    String from;

    @Option(name = "--to", aliases = "-t", description = "An envelope recipient; repeat for more (default: To, Cc and Bcc, Bcc then removed)", multiValued = true)
    List<String> to;

    @Reference(optional = true)
    Outbox outbox;

    @Override
    public Object execute() throws Exception {
        Outbox box = MailBundle.require(this, outbox);
        Path path = Path.of(file);
        if (!Files.isRegularFile(path)) {
            throw UserError.of(this, "no such file: " + path.toAbsolutePath());
        }
        QueuedMessage m;
        try (InputStream in = Files.newInputStream(path)) {
            m = box.queue(from, to == null ? List.of() : to, in);
        }
        System.out.println("queued " + m.id() + " from " + Format.text(m.from()) + " to " + Format.list(m.pending())
                + " (" + Format.size(m.size()) + ")");
        return null;
    }
}
