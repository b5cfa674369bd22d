package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.mail.CollectReport;
import io.uplink.mail.testing.Dovecot;

/**
 * Delivery of collected mail to the office's mail server: a real Dovecot LMTP takes it, and Dovecot IMAP
 * reads it back; temporary failures and a server that is down leave the mail on the remote server until
 * a later firing delivers it; a permanent refusal puts that copy into the unroutable mailbox. Also Dovecot
 * IMAP serving a Maildir that Uplink wrote ({@code mailboxes.dir} pointed at Dovecot's mail folder). A routed
 * domain with its own delivery ({@code delivery.<domain>}) in the same firing as Dovecot LMTP.
 */
public class DeliveryTest {

    @ClassRule
    public static TemporaryFolder shared = new TemporaryFolder();
    private static Dovecot dovecot;
    private static int run;

    private GreenMail remote;
    private GreenMailUser inbox;
    private Path dir;

    @BeforeClass
    public static void startDovecot() throws Exception {
        dovecot = Dovecot.start(shared.getRoot().toPath().resolve("dovecot"), shared.getRoot().toPath().resolve("office-mail"));
        for (String u : new String[] {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "kate", "lena", "nina"}) {
            dovecot.user(u);
        }
    }

    @AfterClass
    public static void stopDovecot() {
        if (dovecot != null) {
            dovecot.close();
        }
    }

    @Before
    public void startRemote() throws Exception {
        remote = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        remote.start();
        inbox = remote.setUser("office@isp.test", "office", "pw");
        dir = shared.getRoot().toPath().resolve("uplink-" + (++run));
    }

    @After
    public void stopRemote() {
        remote.stop();
    }

    private String[] cfg(String delivery, String... more) {
        List<String> kv = new ArrayList<>(List.of("connections", "office", "protocol", "pop3", "host", "127.0.0.1",
                "port", String.valueOf(remote.getPop3().getPort()), "security", "none", "username", "office", "password", "pw",
                "delivery", delivery));
        Collections.addAll(kv, more);
        return kv.toArray(new String[0]);
    }

    private CollectReport collect(String... kv) throws Exception {
        return Fixture.collect(Fixture.settings("office", kv), dir, Clock.systemUTC());
    }

    private String lmtp() {
        return "lmtp://127.0.0.1:" + dovecot.lmtpPort();
    }

    private void send(String to, String subject) throws Exception {
        inbox.deliver(mime(message("sender@example.net", to, subject, "Hello " + subject)));
    }

    private int onRemote() throws Exception {
        return remote.getManagers().getImapHostManager().getInbox(inbox).getMessageCount();
    }

    /** Subject and Delivered-To (the envelope recipient, when Dovecot writes it) of every message in a Dovecot user's INBOX, read over IMAP. */
    private static List<String> imap(String user) throws Exception {
        Session session = Session.getInstance(new Properties());
        Store store = session.getStore("imap");
        store.connect("127.0.0.1", dovecot.imapPort(), user, Dovecot.PASSWORD);
        try {
            Folder f = store.getFolder("INBOX");
            f.open(Folder.READ_ONLY);
            List<String> out = new ArrayList<>();
            for (Message m : f.getMessages()) {
                String[] dt = m.getHeader("Delivered-To");
                out.add(m.getSubject() + (dt != null ? " -> " + dt[0] : ""));
            }
            f.close(false);
            Collections.sort(out);
            return out;
        } finally {
            store.close();
        }
    }

    @Test
    public void lmtpDeliversEachRoutedAddressAndDovecotImapReadsItBack() throws Exception {
        send("alice@office.test, Bob <bob@office.test>", "to both");
        send("alice@office.test", "to alice");
        CollectReport r = collect(cfg(lmtp(), "route", "headers", "domains", "office.test"));
        assertEquals(r.errors().toString(), List.of(), r.errors());
        assertEquals(2, r.collected());
        assertEquals("deleted on the remote server after the 250s", 0, onRemote());
        // Dovecot writes Delivered-To only for a transaction with one recipient
        assertEquals(List.of("to alice -> alice@office.test", "to both"), imap("alice"));
        assertEquals(List.of("to both"), imap("bob"));
        assertTrue("no local copy", Fixture.newFiles(dir.resolve("mailboxes/alice")).isEmpty());
    }

    @Test
    public void deliverToAnAddressIsTheEnvelopeRecipient() throws Exception {
        send("someone@elsewhere.test", "for dave");
        CollectReport r = collect(cfg(lmtp(), "deliverTo", "dave@office.test"));
        assertEquals(r.errors().toString(), List.of(), r.errors());
        assertEquals(List.of("for dave -> dave@office.test"), imap("dave"));
        assertEquals(0, onRemote());
    }

    /** A Dovecot user whose Maildir Dovecot cannot write: LMTP answers 451 for them after the data. */
    private static Path unwritable(String user) throws Exception {
        Path home = dovecot.mail().resolve(user);
        Files.createDirectories(home);
        Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.setOwner(home, home.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("root"));
        return home;
    }

    @Test
    public void temporaryFailureLeavesTheMessageOnTheServerAndTheNextFiringDeliversIt() throws Exception {
        Path carol = unwritable("carol");
        send("erin@office.test", "erin first");
        send("carol@office.test, erin@office.test", "carol and erin");
        String[] cfg = cfg(lmtp(), "route", "headers", "domains", "office.test");

        CollectReport first = collect(cfg);
        assertEquals(first.errors().toString(), 1, first.errors().size());
        String error = first.errors().get(0);
        assertTrue(error, error.contains("carol@office.test (451") && error.contains("stays on the server"));
        assertEquals("the deferred message is still on the remote server", 1, onRemote());

        dovecot.own(carol);
        CollectReport second = collect(cfg);
        assertEquals(second.errors().toString(), List.of(), second.errors());
        assertEquals(0, onRemote());
        assertEquals(List.of("carol and erin"), imap("carol"));
        // erin's copy of the retried message came twice: LMTP had said 250 for her the first time
        assertEquals(List.of("carol and erin", "carol and erin", "erin first -> erin@office.test"), imap("erin"));
    }

    @Test
    public void serverDownLeavesEverythingOnTheServerAndTheNextFiringDelivers() throws Exception {
        send("frank@office.test", "one");
        send("frank@office.test", "two");
        int closed = Dovecot.freePorts(1)[0];
        String[] down = cfg("lmtp://127.0.0.1:" + closed, "deliverTo", "frank@office.test");
        CollectReport first = collect(down);
        assertEquals(0, first.collected());
        assertEquals(first.errors().toString(), 1, first.errors().size());
        assertTrue(first.errors().get(0), first.errors().get(0).contains("connection refused")
                && first.errors().get(0).contains("stay on the server"));
        assertEquals(2, onRemote());

        CollectReport second = collect(cfg(lmtp(), "deliverTo", "frank@office.test"));
        assertEquals(second.errors().toString(), List.of(), second.errors());
        assertEquals(2, second.collected());
        assertEquals(0, onRemote());
        assertEquals(List.of("one -> frank@office.test", "two -> frank@office.test"), imap("frank"));
    }

    @Test
    public void permanentRefusalPutsThatCopyIntoTheUnroutableMailboxAndReportsIt() throws Exception {
        send("grace@office.test, nosuchuser@office.test", "half known");
        CollectReport r = collect(cfg(lmtp(), "route", "headers", "domains", "office.test"));
        assertEquals(r.errors().toString(), 1, r.errors().size());
        String error = r.errors().get(0);
        assertTrue(error, error.contains("nosuchuser@office.test (550") && error.contains("'postmaster'"));
        assertEquals("handled for good: deleted on the remote server", 0, onRemote());
        assertEquals(List.of("half known"), Fixture.subjects(dir.resolve("mailboxes/postmaster")));
        assertEquals(List.of("half known -> grace@office.test"), imap("grace"));
    }

    @Test
    public void aLargeMessageGoesOutFromTheSpoolFileUnchanged() throws Exception {
        String body = ("0123456789 large message line\r\n").repeat(12_000); // ~370 KiB: spooled to a file
        byte[] raw = message("sender@example.net", "kate@office.test, nosuch2@office.test", "large", body);
        inbox.deliver(mime(raw));
        CollectReport r = collect(cfg(lmtp(), "route", "headers", "domains", "office.test"));
        assertEquals(r.errors().toString(), 1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("nosuch2@office.test (550"));
        assertEquals(0, onRemote());
        List<Path> kept = Fixture.newFiles(dir.resolve("mailboxes/postmaster"));
        assertEquals(1, kept.size());
        assertTrue(Files.readString(kept.get(0)).contains(body));
        assertTrue("no spool file left behind", isEmpty(dir.resolve("mailboxes/postmaster/tmp")));
        Session session = Session.getInstance(new Properties());
        Store store = session.getStore("imap");
        store.connect("127.0.0.1", dovecot.imapPort(), "kate", Dovecot.PASSWORD);
        try {
            Folder f = store.getFolder("INBOX");
            f.open(Folder.READ_ONLY);
            assertEquals(1, f.getMessageCount());
            assertEquals(body, f.getMessage(1).getContent().toString());
        } finally {
            store.close();
        }
    }

    private static boolean isEmpty(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    public void aBadDeliveryValueNamesTheFileAndTheKey() {
        for (String bad : new String[] {"lmtp://127.0.0.1", "imap://host:143", "maildirs", "lmtp://host:24/x"}) {
            try {
                CollectorSettings.of(Fixture.settings("office", cfg(bad, "deliverTo", "alice")));
                org.junit.Assert.fail(bad);
            } catch (io.uplink.api.config.ConfigException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("io.uplink.collector-office.cfg")
                        && e.getMessage().contains("'delivery'") && e.getMessage().contains(bad));
            }
        }
    }

    @Test
    public void smtpDeliveryGivesOneCopyPerRoutedAddress() throws Exception {
        GreenMail office = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        office.start();
        try {
            send("ivan@office.test, judy@office.test, someone@elsewhere.test", "over smtp");
            CollectReport r = collect(cfg("smtp://127.0.0.1:" + office.getSmtp().getPort(), "route", "headers",
                    "domains", "office.test"));
            assertEquals(r.errors().toString(), List.of(), r.errors());
            assertEquals(0, onRemote());
            // GreenMail files each copy under its envelope recipient: only the routed addresses got one
            assertEquals(2, office.getReceivedMessages().length);
            for (String to : new String[] {"ivan@office.test", "judy@office.test"}) {
                GreenMailUser u = office.getManagers().getUserManager().getUserByEmail(to);
                assertEquals(to, 1, office.getManagers().getImapHostManager().getInbox(u).getMessageCount());
            }
        } finally {
            office.stop();
        }
    }

    @Test
    public void dovecotImapListsAndReadsAMaildirUplinkWrote() throws Exception {
        send("heidi@office.test", "from the maildir");
        // mailboxes.dir = Dovecot's mail folder: Uplink writes <mailboxes.dir>/heidi/{tmp,new,cur}
        Path mailboxes = dovecot.mail();
        CollectReport r = Fixture.collect(Fixture.settings("office", cfg("maildir", "deliverTo", "heidi")),
                mailboxes.getParent(), Clock.systemUTC(), mailboxes);
        assertEquals(r.errors().toString(), List.of(), r.errors());
        dovecot.own(mailboxes.resolve("heidi"));
        assertEquals(List.of("from the maildir"), imap("heidi"));
    }

    @Test
    public void eachRoutedDomainGoesToItsOwnDeliveryInOneFiring() throws Exception {
        send("lena@office.test, Max <max@branch.test>", "to both domains");
        send("max@branch.test", "to the branch");
        send("someone@elsewhere.test", "to nobody here");
        CollectReport r = collect(cfg(lmtp(), "route", "headers", "domains", "office.test, branch.test",
                "delivery.branch.test", "maildir"));
        assertEquals(r.errors().toString(), List.of(), r.errors());
        assertEquals(3, r.collected());
        assertEquals("deleted on the remote server once every destination had it", 0, onRemote());
        assertEquals("office.test over LMTP", List.of("to both domains -> lena@office.test"), imap("lena"));
        assertEquals("branch.test into the local Maildir", List.of("to both domains", "to the branch"),
                Fixture.subjects(dir.resolve("mailboxes/max")));
        assertEquals(List.of("to nobody here"), Fixture.subjects(dir.resolve("mailboxes/postmaster")));
        assertTrue("no local copy for the LMTP domain", Fixture.newFiles(dir.resolve("mailboxes/lena")).isEmpty());
    }

    @Test
    public void aMessageLeavesTheRemoteServerOnlyWhenEveryDestinationTookIt() throws Exception {
        Path nina = unwritable("nina");
        send("nina@office.test, oscar@branch.test", "nina and oscar");
        send("oscar@branch.test", "oscar alone");
        String[] cfg = cfg("maildir", "route", "headers", "domains", "office.test, branch.test",
                "delivery.office.test", lmtp());

        CollectReport first = collect(cfg);
        assertEquals(first.errors().toString(), 1, first.errors().size());
        assertTrue(first.errors().get(0), first.errors().get(0).contains("nina@office.test (451"));
        assertEquals("the message LMTP deferred is still on the remote server", 1, onRemote());
        assertEquals("its Maildir copy waits for every server's answer", List.of("oscar alone"),
                Fixture.subjects(dir.resolve("mailboxes/oscar")));

        dovecot.own(nina);
        CollectReport second = collect(cfg);
        assertEquals(second.errors().toString(), List.of(), second.errors());
        assertEquals(0, onRemote());
        assertEquals(List.of("nina and oscar -> nina@office.test"), imap("nina"));
        assertEquals(List.of("nina and oscar", "oscar alone"), Fixture.subjects(dir.resolve("mailboxes/oscar")));
    }

    @Test
    public void aDomainWhoseServerIsDownWaitsWhileTheOthersAreDelivered() throws Exception {
        send("paul@office.test", "for the office");
        send("quinn@branch.test", "for the branch");
        int closed = Dovecot.freePorts(1)[0];
        CollectReport r = collect(cfg("maildir", "route", "headers", "domains", "office.test, branch.test",
                "delivery.office.test", "lmtp://127.0.0.1:" + closed));
        assertEquals(r.errors().toString(), 1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("connection refused"));
        assertEquals(1, r.collected());
        assertEquals(List.of("for the branch"), Fixture.subjects(dir.resolve("mailboxes/quinn")));
        assertEquals("the office's message stays on the remote server", 1, onRemote());
    }

    @Test
    public void aBadDomainDeliveryNamesTheFileAndTheKey() {
        String[][] bad = {
            {"route", "headers", "domains", "office.test", "delivery.branch.test", "maildir"},
            {"route", "headers", "domains", "office.test", "delivery.office.test", "lmtp://host"},
            {"deliverTo", "alice", "delivery.office.test", "maildir"}};
        String[] key = {"delivery.branch.test", "delivery.office.test", "delivery.office.test"};
        for (int i = 0; i < bad.length; i++) {
            try {
                CollectorSettings.of(Fixture.settings("office", cfg("maildir", bad[i])));
                org.junit.Assert.fail(List.of(bad[i]).toString());
            } catch (io.uplink.api.config.ConfigException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("io.uplink.collector-office.cfg")
                        && e.getMessage().contains("'" + key[i] + "'"));
            }
        }
    }
}
