package io.uplink.mail.internal.send;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.SendReport;

import java.io.File;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The outgoing half of the kill test: a child JVM queues 500 messages and sends them to GreenMail; it is
 * killed (SIGKILL) in the middle of the session. After a restart and a second firing every message reached
 * the server at least once, and at most once more.
 */
public class SendKillTest {

    private static final int COUNT = 500;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;

    @Before
    public void start() {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
    }

    @After
    public void stop() {
        greenMail.stop();
    }

    @Test
    public void killedInTheMiddleOfAFiringLosesNothing() throws Exception {
        Path dir = tmp.newFolder("data").toPath();
        int port = greenMail.getSmtp().getPort();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SendKillChild.class.getName(), dir.toString(), Integer.toString(port), Integer.toString(COUNT))
                .redirectErrorStream(true).redirectOutput(new File(dir.toFile(), "child.log")).start();
        try {
            await().atMost(120, TimeUnit.SECONDS).pollInterval(20, TimeUnit.MILLISECONDS)
                    .until(() -> greenMail.getReceivedMessages().length >= COUNT / 3 || !child.isAlive());
            assertTrue("the child is still sending when it is killed", child.isAlive());
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        } finally {
            child.destroyForcibly();
        }
        int beforeRestart = greenMail.getReceivedMessages().length;
        assertTrue("killed mid-firing: " + beforeRestart, beforeRestart > 0 && beforeRestart < COUNT);

        // restart: a new queue on the same folder, a second firing
        SendFixture f = new SendFixture(dir);
        assertTrue(f.outbox.size() > 0);
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.sender~kill");
        p.put("hosts", "127.0.0.1:" + port);
        p.put("security", "none");
        SendReport r = new SmtpSender(f.outbox, p).send(new SendFixture.Context());
        assertTrue(r.errors().toString(), r.errors().isEmpty());
        assertEquals(0, f.outbox.size());

        int[] seen = new int[COUNT];
        for (MimeMessage m : greenMail.getReceivedMessages()) {
            String subject = m.getSubject();
            seen[Integer.parseInt(subject.substring("kill ".length()))]++;
        }
        int duplicates = 0;
        for (int i = 0; i < COUNT; i++) {
            assertTrue("message " + i + " reached the server", seen[i] >= 1);
            assertTrue("message " + i + " at most once more", seen[i] <= 2);
            duplicates += seen[i] - 1;
        }
        assertTrue("only the message in flight at the kill may go twice: " + duplicates, duplicates <= 1);
    }
}
