package io.uplink.shell.internal.outbox;

import io.uplink.api.mail.Outbox;
import io.uplink.api.mail.QueuedMessage;
import io.uplink.shell.internal.Format;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "outbox", name = "show", description = "Shows a queued message: its envelope and queue state, then its raw headers")
@Service
public class ShowCommand implements Action {

    /** A header block larger than this is cut: a hostile or broken file must not flood the console. */
    static final int MAX_HEADER_CHARS = 256 * 1024;

    @Argument(index = 0, name = "id", description = "The message id", required = true)
    @Completion(OutboxIdCompleter.class)
    String id;

    @Reference(optional = true)
    Outbox outbox;

    @Override
    public Object execute() throws Exception {
        Outbox box = MailBundle.require(this, outbox);
        QueuedMessage m = box.get(id).orElseThrow(() -> MailBundle.noSuchMessage(this, id));
        PrintStream out = System.out;
        out.println("id: " + m.id());
        out.println("from: " + Format.text(m.from()));
        out.println("recipients: " + Format.list(m.pending()));
        out.println("size: " + m.size() + " (" + Format.size(m.size()) + ")");
        out.println("queued: " + Format.time(m.queued()));
        out.println("attempts: " + m.attempts());
        out.println("nextTry: " + (m.nextTry() == null ? "next firing" : Format.time(m.nextTry())));
        out.println("lastError: " + Format.text(m.lastError()));
        out.println("priority: " + m.priority());
        out.println();
        try (InputStream in = box.open(id)) {
            printHeaders(in, out);
        }
        return null;
    }

    /** Prints the header lines up to the blank line that ends them, without reading the body. */
    static void printHeaders(InputStream in, PrintStream out) throws IOException {
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        int chars = 0;
        String line;
        while ((line = reader.readLine()) != null && !line.isEmpty()) {
            chars += line.length() + 1;
            if (chars > MAX_HEADER_CHARS) {
                out.println("(headers longer than " + MAX_HEADER_CHARS + " characters; the rest is not shown)");
                return;
            }
            out.println(line);
        }
    }
}
