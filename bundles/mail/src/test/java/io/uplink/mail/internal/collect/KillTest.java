package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import jakarta.mail.Flags;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.store.StoredMessage;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The incoming half of the kill test: a collector in a child JVM is SIGKILLed while collecting 500 messages,
 * each routed to two mailboxes (To alice, Cc bob), from a server in another process (GreenMail in this test
 * JVM); after a second run each mailbox holds every message exactly once and the server is empty. The kill
 * lands at a chosen protocol line, held back by a {@link CommandProxy}: in the middle of the transfer (the
 * 125th RETR; the FETCH answer with the 125th message), or in the delete phase (the 250th DELE; the STORE
 * of \Deleted). Before each kill the child must be alive and have stored messages in both mailboxes, so a
 * test whose child died early or never started cannot pass.
 */
public class KillTest {

    private static final int MESSAGES = 500;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private NoDelayGreenMail greenMail;

    @After
    public void stop() {
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    public void pop3KilledMidCollectLosesNothingAndDuplicatesNothing() throws Exception {
        killAndRerun("pop3", CommandProxy.nth(MESSAGES / 4, l -> l.startsWith("C: RETR ")), false);
    }

    @Test
    public void pop3KilledInTheDeletePhaseLosesNothingAndDuplicatesNothing() throws Exception {
        killAndRerun("pop3", CommandProxy.nth(MESSAGES / 2, l -> l.startsWith("C: DELE ")), true);
    }

    @Test
    public void imapKilledMidCollectLosesNothingAndDuplicatesNothing() throws Exception {
        // held at the server's answer carrying the 375th message: in the second FETCH (small messages come up to
        // 256 at a time), after the first batch was stored
        killAndRerun("imap", l -> l.startsWith("S: * " + MESSAGES * 3 / 4 + " FETCH ") && l.contains("BODY["), false);
    }

    @Test
    public void imapKilledInTheDeletePhaseLosesNothingAndDuplicatesNothing() throws Exception {
        killAndRerun("imap", l -> l.startsWith("C: ") && l.contains("+FLAGS") && l.contains("\\Deleted"), true);
    }

    private void killAndRerun(String protocol, Predicate<String> killAt, boolean deletePhase) throws Exception {
        // TCP_NODELAY on the server's sessions: without it each answer waits out delayed ACKs (NoDelayGreenMail)
        greenMail = new NoDelayGreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP));
        greenMail.start();
        GreenMailUser user = greenMail.setUser("office@example.com", "office", "pw");
        for (int i = 0; i < MESSAGES; i++) {
            user.deliver(mime(message("carol@example.net", "alice@office.test\r\nCc: bob@office.test", "kill " + i,
                    ("line " + i + "\r\n").repeat(40))));
        }
        Path dir = tmp.getRoot().toPath();
        List<Path> inboxes = List.of(dir.resolve("mailboxes/alice"), dir.resolve("mailboxes/bob"));
        int port = greenMail.port(protocol);
        String[] cfg = {"connections=office", "protocol=" + protocol, "host=127.0.0.1", "port=" + port, "security=none",
            "username=office", "password=pw", "route=headers", "domains=office.test"};

        try (CommandProxy proxy = new CommandProxy(new InetSocketAddress("127.0.0.1", port), killAt)) {
            String[] viaProxy = cfg.clone();
            viaProxy[3] = "port=" + proxy.port();
            Process first = CollectMain.start("128m", dir, dir.resolve("first.log"), viaProxy);
            String held = proxy.awaitHeld(120, TimeUnit.SECONDS);
            assertNotNull("the session never reached the kill point\n" + Files.readString(dir.resolve("first.log")), held);
            // what was forced before the held line reaches new/ (the fsync threads may still be renaming)
            try {
                await().atMost(30, TimeUnit.SECONDS).pollInterval(5, TimeUnit.MILLISECONDS)
                        .until(() -> count(inboxes.get(0)) > 0 && count(inboxes.get(1)) > 0 || !first.isAlive());
            } catch (ConditionTimeoutException e) {
                // the assertions below say what is missing
            }
            int atKill = count(inboxes.get(0));
            assertTrue("the child must be alive at the kill\n" + Files.readString(dir.resolve("first.log")), first.isAlive());
            assertTrue("stored at the kill (" + held + "): " + atKill + " and " + count(inboxes.get(1)),
                    atKill > 0 && count(inboxes.get(1)) > 0);
            first.destroyForcibly(); // SIGKILL
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            assertEquals("killed by SIGKILL", 137, first.exitValue());
            if (deletePhase) {
                assertEquals("the kill landed in the delete phase (" + held + "): every message was stored",
                        MESSAGES, count(inboxes.get(0)));
                assertEquals(MESSAGES, count(inboxes.get(1)));
            } else {
                assertTrue("the kill must land mid-transfer; stored at kill: " + atKill, atKill < MESSAGES);
            }
        }
        assertEquals("nothing was deleted on the server before the kill", MESSAGES, onServer(user));
        if (protocol.equals("pop3")) {
            // RFC 1939: a session that ends without QUIT deletes nothing, and its DELE marks are gone. GreenMail
            // 2.1.3 keeps the marks (and then numbers its messages differently in UIDL/LIST and RETR/DELE), so
            // drop them as a conforming server would.
            for (StoredMessage m : greenMail.getManagers().getImapHostManager().getInbox(user).getMessages()) {
                m.setFlag(Flags.Flag.DELETED, false);
            }
        }

        Process second = CollectMain.start("128m", dir, dir.resolve("second.log"), cfg);
        assertTrue(second.waitFor(120, TimeUnit.SECONDS));
        String log = Files.readString(dir.resolve("second.log"));
        assertTrue(log, log.contains("errors=[]"));

        for (Path inbox : inboxes) {
            Set<String> subjects = new HashSet<>();
            int files = 0;
            try (var s = Files.list(inbox.resolve("new"))) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    files++;
                    try (InputStream in = Files.newInputStream(p)) {
                        assertTrue("duplicate: " + p, subjects.add(new MimeMessage(Session.getInstance(new Properties()), in).getSubject()));
                    }
                }
            }
            assertEquals(inbox.toString(), MESSAGES, files);
            assertEquals(MESSAGES, subjects.size());
        }
        assertEquals(0, onServer(user));
    }

    private int onServer(GreenMailUser user) throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount();
    }

    /** Messages in a Maildir's new/. */
    private static int count(Path mailbox) throws Exception {
        Path dir = mailbox.resolve("new");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var s = Files.list(dir)) {
            return (int) s.count();
        }
    }
}
