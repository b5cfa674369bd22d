package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The incoming half of the kill test: a collector in a child JVM is SIGKILLed in the middle of collecting
 * 500 messages from a server in another process (GreenMail in this test JVM); after a second run every
 * message is in the Maildir exactly once and the server is empty.
 */
public class KillTest {

    private static final int MESSAGES = 500;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;

    @After
    public void stop() {
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    public void pop3KilledMidCollectLosesNothingAndDuplicatesNothing() throws Exception {
        killAndRerun("pop3");
    }

    @Test
    public void imapKilledMidCollectLosesNothingAndDuplicatesNothing() throws Exception {
        killAndRerun("imap");
    }

    private void killAndRerun(String protocol) throws Exception {
        greenMail = new GreenMail(new ServerSetup[] {new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP)});
        greenMail.start();
        GreenMailUser alice = greenMail.setUser("alice@example.com", "alice", "pw");
        for (int i = 0; i < MESSAGES; i++) {
            alice.deliver(mime(message("bob@example.net", "alice@example.com", "kill " + i, ("line " + i + "\r\n").repeat(40))));
        }
        Path dir = tmp.getRoot().toPath();
        Path inbox = dir.resolve("mailboxes/alice/new");
        int port = protocol.equals("pop3") ? greenMail.getPop3().getPort() : greenMail.getImap().getPort();
        String[] cfg = {"connections=office", "protocol=" + protocol, "host=127.0.0.1", "port=" + port, "security=none",
            "username=alice", "password=pw", "deliverTo=alice"};

        Process first = CollectMain.start("128m", dir, dir.resolve("first.log"), cfg);
        await().atMost(60, TimeUnit.SECONDS).pollInterval(2, TimeUnit.MILLISECONDS)
                .until(() -> count(inbox) >= MESSAGES / 4 || !first.isAlive());
        first.destroyForcibly(); // SIGKILL
        first.waitFor(30, TimeUnit.SECONDS);
        int atKill = count(inbox);
        assertTrue("the kill must land mid-collect; stored at kill: " + atKill + "\n" + Files.readString(dir.resolve("first.log")),
                atKill < MESSAGES);
        assertEquals("nothing was deleted before the batch was durable", MESSAGES, onServer(alice));

        Process second = CollectMain.start("128m", dir, dir.resolve("second.log"), cfg);
        assertTrue(second.waitFor(120, TimeUnit.SECONDS));
        String log = Files.readString(dir.resolve("second.log"));
        assertTrue(log, log.contains("errors=[]"));

        Set<String> subjects = new HashSet<>();
        int files = 0;
        try (var s = Files.list(inbox)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                files++;
                try (InputStream in = Files.newInputStream(p)) {
                    assertTrue("duplicate: " + p, subjects.add(new MimeMessage(Session.getInstance(new Properties()), in).getSubject()));
                }
            }
        }
        assertEquals(MESSAGES, files);
        assertEquals(MESSAGES, subjects.size());
        assertEquals(0, onServer(alice));
    }

    private int onServer(GreenMailUser user) throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount();
    }

    private static int count(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var s = Files.list(dir)) {
            return (int) s.count();
        }
    }
}
