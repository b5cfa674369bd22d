package io.uplink.mail.internal.send;

import io.uplink.api.mail.SendReport;
import io.uplink.mail.internal.outbox.FileOutbox;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The JVM that SendKillTest kills: queues the messages, then sends them to the given SMTP port. */
public final class SendKillChild {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int port = Integer.parseInt(args[1]);
        int count = Integer.parseInt(args[2]);
        FileOutbox outbox = new FileOutbox(dir.resolve("outbox"), dir.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                FileOutbox.Retry.DEFAULT);
        for (int i = outbox.size(); i < count; i++) {
            String m = "From: a@example.org\r\nTo: b@example.net\r\nSubject: kill " + i + "\r\nMessage-ID: <kill-" + i
                    + "@test>\r\n\r\n" + "x".repeat(2000) + "\r\n";
            outbox.queue(null, List.of(), new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)));
        }
        System.out.println("QUEUED " + outbox.size());
        System.out.flush();
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.sender~kill");
        p.put("hosts", "127.0.0.1:" + port);
        p.put("security", "none");
        SendReport r = new SmtpSender(outbox, p).send(new SendFixture.Context());
        System.out.println("SENT " + r.sent());
    }
}
