package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.mail.testing.Dovecot;

/**
 * The crash test of delivery over LMTP: a collector in a child JVM hands 400 messages from a POP3 server
 * (GreenMail, in this JVM) to a real Dovecot LMTP and is SIGKILLed three times while doing so. After a last
 * run every message is in the Dovecot mailbox, no message more than twice and at most the messages in flight
 * at each kill (one per LMTP session) twice, and the POP3 server is empty.
 */
public class DeliveryKillTest {

    private static final int MESSAGES = 400;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private NoDelayGreenMail remote;
    private Dovecot dovecot;

    @After
    public void stop() {
        if (remote != null) {
            remote.stop();
        }
        if (dovecot != null) {
            dovecot.close();
        }
    }

    @Test
    public void killedWhileDeliveringOverLmtpLosesNothingAndRepeatsAtMostTheMessageInFlight() throws Exception {
        Path dir = tmp.getRoot().toPath();
        dovecot = Dovecot.start(dir.resolve("dovecot"), dir.resolve("office-mail"));
        dovecot.user("kim");
        // TCP_NODELAY on the server's sessions: without it each answer waits out delayed ACKs (NoDelayGreenMail)
        remote = new NoDelayGreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        remote.start();
        GreenMailUser isp = remote.setUser("office@isp.test", "office", "pw");
        for (int i = 0; i < MESSAGES; i++) {
            isp.deliver(mime(message("bob@example.net", "kim@office.test", "kill " + i, ("line " + i + "\r\n").repeat(40))));
        }
        Path uplink = dir.resolve("uplink");
        Path delivered = dovecot.mail().resolve("kim");
        String[] cfg = {"connections=office", "protocol=pop3", "host=127.0.0.1", "port=" + remote.getPop3().getPort(),
            "security=none", "username=office", "password=pw", "route=headers", "domains=office.test",
            "delivery=lmtp://127.0.0.1:" + dovecot.lmtpPort()};

        int kills = 0;
        for (int quarter = 1; quarter <= 3; quarter++) {
            int target = MESSAGES * quarter / 4;
            Path log = uplink.resolve("run-" + quarter + ".log");
            Files.createDirectories(uplink);
            Process child = CollectMain.start("128m", uplink, log, cfg);
            await().atMost(120, TimeUnit.SECONDS).pollInterval(2, TimeUnit.MILLISECONDS)
                    .until(() -> Fixture.newFiles(delivered).size() >= target || !child.isAlive());
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            int atKill = Fixture.newFiles(delivered).size();
            assertTrue("the kill must land mid-delivery; delivered at kill: " + atKill + "\n" + Files.readString(log),
                    atKill < MESSAGES);
            assertEquals("POP3 deletes only at QUIT, which a killed run never reached", MESSAGES, onRemote(isp));
            kills++;
        }

        Path last = uplink.resolve("last.log");
        Process child = CollectMain.start("128m", uplink, last, cfg);
        assertTrue(child.waitFor(180, TimeUnit.SECONDS));
        String log = Files.readString(last);
        assertTrue(log, log.contains("errors=[]"));
        assertEquals(0, onRemote(isp));

        Map<String, Integer> copies = new HashMap<>();
        for (String subject : Fixture.subjects(delivered)) {
            copies.merge(subject, 1, Integer::sum);
        }
        assertEquals("every message arrived", MESSAGES, copies.size());
        List<String> twice = copies.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        // in flight at a kill: the messages the sessions were handing over, at most one per session
        assertTrue("at most the messages in flight at each kill came twice: " + twice,
                twice.size() <= kills * ServerDestination.SESSIONS);
        assertTrue("nothing came three times: " + copies, copies.values().stream().allMatch(n -> n <= 2));
    }

    private int onRemote(GreenMailUser user) throws Exception {
        return remote.getManagers().getImapHostManager().getInbox(user).getMessageCount();
    }
}
