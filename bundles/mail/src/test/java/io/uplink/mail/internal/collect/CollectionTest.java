package io.uplink.mail.internal.collect;

import io.uplink.api.config.Settings;
import static io.uplink.mail.internal.collect.Fixture.collect;
import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static io.uplink.mail.internal.collect.Fixture.newFiles;
import static io.uplink.mail.internal.collect.Fixture.settings;
import static io.uplink.mail.internal.collect.Fixture.subjects;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Store;

import com.icegreen.greenmail.store.StoredMessage;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.api.mail.CollectReport;
import io.uplink.testsupport.MovableClock;
import io.uplink.mail.internal.ledger.UidLedger;

/** Collecting from a real POP3/IMAP server (GreenMail) into Maildirs. */
public class CollectionTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;
    private GreenMailUser alice;
    private Path dir;
    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T10:00:00Z"));

    @Before
    public void start() throws Exception {
        greenMail = new GreenMail(new ServerSetup[] {
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3S),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAPS)});
        greenMail.start();
        alice = greenMail.setUser("alice@example.com", "alice", "s3cret-pw");
        dir = tmp.getRoot().toPath();
    }

    @After
    public void stop() {
        greenMail.stop();
    }

    private void deliver(String subject) throws Exception {
        alice.deliver(mime(message("bob@example.net", "alice@example.com", subject, "Hello " + subject)));
    }

    private int onServer() throws Exception {
        return greenMail.getManagers().getImapHostManager().getInbox(alice).getMessageCount();
    }

    private Settings pop3(String... extra) {
        return withExtra(new String[] {"connections", "office", "protocol", "pop3", "host", "127.0.0.1",
            "port", String.valueOf(greenMail.getPop3().getPort()), "security", "none",
            "username", "alice", "password", "s3cret-pw", "deliverTo", "alice"}, extra);
    }

    private Settings imap(String... extra) {
        return withExtra(new String[] {"connections", "office", "protocol", "imap", "host", "127.0.0.1",
            "port", String.valueOf(greenMail.getImap().getPort()), "security", "none",
            "username", "alice", "password", "s3cret-pw", "deliverTo", "alice"}, extra);
    }

    private static Settings withExtra(String[] base, String[] extra) {
        java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < base.length; i += 2) {
            m.put(base[i], base[i + 1]);
        }
        for (int i = 0; i < extra.length; i += 2) {
            m.put(extra[i], extra[i + 1]);
        }
        String[] kv = new String[m.size() * 2];
        int i = 0;
        for (var e : m.entrySet()) {
            kv[i++] = e.getKey();
            kv[i++] = e.getValue();
        }
        return settings("alice", kv);
    }

    @Test
    public void pop3CollectsEveryMessageOnceAndDeletesItFromTheServer() throws Exception {
        for (int i = 1; i <= 5; i++) {
            deliver("pop3 message " + i);
        }
        Fixture.Context ctx = new Fixture.Context();
        CollectReport r = Fixture.collection(pop3(), dir, clock).run(ctx);
        assertEquals(List.of(), r.errors());
        assertEquals(5, r.collected());
        assertEquals(0, onServer());
        assertEquals(List.of("pop3 message 1", "pop3 message 2", "pop3 message 3", "pop3 message 4", "pop3 message 5"),
                subjects(dir.resolve("mailboxes/alice")));
        assertTrue(ctx.progress.contains("collecting 5 of 5"));
        try (Stream<Path> t = Files.list(dir.resolve("mailboxes/alice/tmp"))) {
            assertEquals(0, t.count());
        }

        CollectReport again = collect(pop3(), dir, clock);
        assertEquals(0, again.collected());
        assertEquals(5, newFiles(dir.resolve("mailboxes/alice")).size());
    }

    @Test
    public void pop3sWithTheServersCertificateInTrustFile() throws Exception {
        deliver("over tls");
        Path pem = Fixture.greenMailCertificate(dir);
        CollectReport r = collect(pop3("security", "tls", "port", String.valueOf(greenMail.getPop3s().getPort()),
                "trust.file", pem.toString()), dir, clock);
        assertEquals(List.of(), r.errors());
        assertEquals(1, r.collected());
        assertEquals(List.of("over tls"), subjects(dir.resolve("mailboxes/alice")));
    }

    @Test
    public void imapsWithTheServersCertificateInTrustFile() throws Exception {
        deliver("imap over tls");
        Path pem = Fixture.greenMailCertificate(dir);
        CollectReport r = collect(imap("security", "tls", "port", String.valueOf(greenMail.getImaps().getPort()),
                "trust.file", pem.toString()), dir, clock);
        assertEquals(List.of(), r.errors());
        assertEquals(1, r.collected());
        assertEquals(0, onServer());
    }

    @Test
    public void anUntrustedCertificateIsRefusedWithAClearErrorAndNothingIsTouched() throws Exception {
        deliver("must stay");
        CollectReport r = collect(pop3("security", "tls", "port", String.valueOf(greenMail.getPop3s().getPort())), dir, clock);
        assertEquals(0, r.collected());
        assertEquals(1, r.errors().size());
        String e = r.errors().get(0);
        assertTrue(e, e.contains("not trusted") && e.contains("trust.file"));
        assertFalse(e, e.contains("s3cret-pw"));
        assertEquals(1, onServer());

        CollectReport imaps = collect(imap("security", "tls", "port", String.valueOf(greenMail.getImaps().getPort())), dir, clock);
        assertTrue(imaps.errors().toString(), imaps.errors().get(0).contains("not trusted"));
    }

    @Test
    public void imapCollectsMultipartMessagesByteForByteAndExpungesThem() throws Exception {
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()));
        m.setFrom("bob@example.net");
        m.setRecipients(jakarta.mail.Message.RecipientType.TO, "alice@example.com");
        m.setSubject("multipart");
        MimeMultipart mp = new MimeMultipart();
        MimeBodyPart text = new MimeBodyPart();
        text.setText("the text part, with 8-bit: caf\u00e9", "UTF-8");
        MimeBodyPart bin = new MimeBodyPart();
        byte[] data = new byte[3000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        bin.setContent(data, "application/octet-stream");
        bin.setFileName("data.bin");
        mp.addBodyPart(text);
        mp.addBodyPart(bin);
        m.setContent(mp);
        m.saveChanges();
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        m.writeTo(raw);
        alice.deliver(mime(raw.toByteArray()));
        deliver("plain one");

        CollectReport r = collect(imap(), dir, clock);
        assertEquals(List.of(), r.errors());
        assertEquals(2, r.collected());
        assertEquals(0, onServer());
        List<Path> files = newFiles(dir.resolve("mailboxes/alice"));
        MimeMessage stored = null;
        for (Path p : files) {
            try (InputStream in = Files.newInputStream(p)) {
                MimeMessage x = new MimeMessage(Session.getInstance(new Properties()), in);
                if ("multipart".equals(x.getSubject())) {
                    stored = x;
                    assertTrue(new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1)
                            .contains(new String(raw.toByteArray(), StandardCharsets.ISO_8859_1).substring(
                                    raw.toString(StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n"))));
                }
            }
        }
        MimeMultipart got = (MimeMultipart) stored.getContent();
        assertEquals(2, got.getCount());
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        got.getBodyPart(1).getDataHandler().writeTo(back);
        assertTrue(java.util.Arrays.equals(data, back.toByteArray()));
    }

    @Test
    public void imapSmallMessagesFetchedTogetherAndALargeOneOnItsOwnAllArriveByteForByte() throws Exception {
        StringBuilder big = new StringBuilder();
        while (big.length() < 100 * 1024) {
            big.append("a line of the large message, which is fetched on its own\r\n");
        }
        byte[] large = message("bob@example.net", "alice@example.com", "large", big.toString());
        deliver("small 1");
        alice.deliver(mime(large));
        deliver("small 2");
        deliver("small 3");

        CollectReport r = collect(imap(), dir, clock);
        assertEquals(List.of(), r.errors());
        assertEquals(4, r.collected());
        assertEquals(0, onServer());
        List<Path> files = newFiles(dir.resolve("mailboxes/alice"));
        assertEquals(4, files.size());
        String body = big.toString();
        java.util.Set<String> subjects = new java.util.TreeSet<>();
        for (Path p : files) {
            String stored = Files.readString(p, StandardCharsets.ISO_8859_1);
            if (stored.contains("Subject: large")) {
                assertTrue(stored.endsWith("\r\n\r\n" + body + "\r\n"));
                subjects.add("large");
            } else {
                String subject = stored.replaceAll("(?s).*Subject: (small \\d).*", "$1");
                assertTrue(stored, stored.contains("Hello " + subject + "\r\n"));
                subjects.add(subject);
            }
        }
        assertEquals(java.util.Set.of("large", "small 1", "small 2", "small 3"), subjects);
    }

    @Test
    public void anOversizedMessageIsLeftOnTheServerAndReported() throws Exception {
        deliver("small");
        alice.deliver(mime(message("bob@example.net", "alice@example.com", "big", "x".repeat(30_000))));
        CollectReport r = collect(pop3("maxMessageSize", "10K"), dir, clock);
        assertEquals(1, r.collected());
        assertEquals(1, r.skipped());
        assertEquals(1, r.errors().size());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("larger than maxMessageSize (10240 bytes); left on the server"));
        assertEquals(1, onServer());
        assertEquals(List.of("small"), subjects(dir.resolve("mailboxes/alice")));

        // reported once: later firings pass it by and are OK, while the ledger keeps it for the status
        clock.advance(Duration.ofHours(1));
        CollectReport again = collect(pop3("maxMessageSize", "10K"), dir, clock);
        assertEquals(List.of(), again.errors());
        assertEquals(0, again.skipped());
        Path ledger = dir.resolve("state/collector-alice.uidl");
        List<UidLedger.Oversized> held = UidLedger.readOversized(ledger);
        assertEquals(1, held.size());
        assertTrue(held.get(0).size() > 30_000);
        assertTrue(held.get(0).describe(10240), held.get(0).describe(10240).endsWith(
                "larger than maxMessageSize (10240 bytes); left on the server since 2026-03-01T10:00:00Z"));

        // a raised limit collects it, and it is no longer listed
        CollectReport raised = collect(pop3("maxMessageSize", "100K"), dir, clock);
        assertEquals(List.of(), raised.errors());
        assertEquals(1, raised.collected());
        assertEquals(List.of(), UidLedger.readOversized(ledger));
        assertEquals(0, onServer());
    }

    /** Marks a message \\Deleted as another IMAP client would, without expunging it. */
    private void markDeletedByAnotherClient(String subject) throws Exception {
        Store store = Session.getInstance(new Properties()).getStore("imap");
        store.connect("127.0.0.1", greenMail.getImap().getPort(), "alice", "s3cret-pw");
        try {
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_WRITE);
            for (Message m : inbox.getMessages()) {
                if (subject.equals(m.getSubject())) {
                    m.setFlag(Flags.Flag.DELETED, true);
                }
            }
            inbox.close(false);
        } finally {
            store.close();
        }
    }

    private boolean markedDeleted(String subject) throws Exception {
        for (StoredMessage m : greenMail.getManagers().getImapHostManager().getInbox(alice).getMessages()) {
            if (subject.equals(m.getMimeMessage().getSubject())) {
                return m.isSet(Flags.Flag.DELETED);
            }
        }
        throw new AssertionError("no message '" + subject + "' on the server");
    }

    @Test
    public void imapWithoutUidplusExpungesOnlyWhatItStored() throws Exception {
        AtomicInteger stripped = new AtomicInteger();
        try (RewritingProxy noUidplus = new RewritingProxy(greenMail.getImap().getPort(), l -> {
            if (l.contains(" UIDPLUS")) {
                stripped.incrementAndGet();
                return l.replace(" UIDPLUS", "");
            }
            return l;
        })) {
            deliver("day0 1");
            deliver("day0 2");
            Settings s = imap("port", String.valueOf(noUidplus.port()), "leaveOnServer.days", "2");
            assertEquals(2, collect(s, dir, clock).collected());
            clock.advance(Duration.ofDays(1));
            deliver("day1 1");
            assertEquals(1, collect(s, dir, clock).collected());
            markDeletedByAnotherClient("day1 1");

            clock.advance(Duration.ofDays(1).plusHours(1));
            CollectReport third = collect(s, dir, clock);
            assertTrue("the server offered no UIDPLUS", stripped.get() > 0);
            assertEquals(List.of(), third.errors());
            assertEquals("the two due messages are expunged; the one another client marked is not ours to expunge",
                    1, onServer());
            assertTrue("and it keeps that client's mark", markedDeleted("day1 1"));
            assertEquals(List.of("day0 1", "day0 2", "day1 1"), subjects(dir.resolve("mailboxes/alice")));
        }
    }

    /**
     * The answer to the firing's UID EXPUNGE reaches Angus without its untagged EXPUNGEs (Angus would renumber
     * its message cache once for each), and with everything else: a new message's EXISTS, flags, the result.
     */
    @Test
    public void uidExpungeAnswerIsHandedOnWithoutItsExpunges() throws Exception {
        org.eclipse.angus.mail.iap.Response[] answer = {
            new org.eclipse.angus.mail.imap.protocol.IMAPResponse("* 3 EXPUNGE"),
            new org.eclipse.angus.mail.imap.protocol.IMAPResponse("* 3 EXPUNGE"),
            new org.eclipse.angus.mail.imap.protocol.IMAPResponse("* 4 EXISTS"),
            new org.eclipse.angus.mail.imap.protocol.IMAPResponse("* 1 FETCH (FLAGS (\\Seen))"),
            new org.eclipse.angus.mail.imap.protocol.IMAPResponse("A7 OK Expunge completed.")};
        List<String> kept = java.util.Arrays.stream(Collection.withoutExpunged(answer)).map(Object::toString).toList();
        assertEquals(List.of("* 4 EXISTS", "* 1 FETCH (FLAGS (\\Seen))", "A7 OK Expunge completed."), kept);
    }

    /**
     * A firing that collects and deletes over IMAP signs in once: the capability it asks before deleting
     * (UIDPLUS) is asked on the folder's own session, not on a second connection Angus would open for the store.
     */
    @Test
    public void imapFiringThatDeletesSignsInOnce() throws Exception {
        assertFiringThatDeletesSignsInOnce("imap", greenMail.getImap().getPort(), "LOGIN", "AUTHENTICATE");
    }

    /** The same for POP3: one session, one sign-in, for listing, fetching and deleting. */
    @Test
    public void pop3FiringThatDeletesSignsInOnce() throws Exception {
        assertFiringThatDeletesSignsInOnce("pop3", greenMail.getPop3().getPort(), "USER", "AUTH", "APOP");
    }

    private void assertFiringThatDeletesSignsInOnce(String protocol, int port, String... signInCommands) throws Exception {
        for (int i = 1; i <= 3; i++) {
            deliver("once " + i);
        }
        List<String> names = List.of(signInCommands);
        List<String> signIns = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (CommandProxy proxy = new CommandProxy(new java.net.InetSocketAddress("127.0.0.1", port), l -> {
            String[] w = l.split(" ");
            // IMAP: "C: <tag> LOGIN ..."; POP3: "C: USER ..."
            if (l.startsWith("C: ") && java.util.Arrays.stream(w).limit(3).anyMatch(x -> names.contains(x.toUpperCase(java.util.Locale.ROOT)))) {
                signIns.add(l.substring(3, Math.min(l.length(), 12)));
            }
            return false;
        })) {
            Settings s = protocol.equals("imap") ? imap("port", String.valueOf(proxy.port())) : pop3("port", String.valueOf(proxy.port()));
            CollectReport r = collect(s, dir, clock);
            assertEquals(r.errors().toString(), 3, r.collected());
            assertEquals("deleted on the server", 0, onServer());
            assertEquals("one sign-in for the whole firing: " + signIns, 1, signIns.size());
        }
    }

    /**
     * A big mailbox left on the server: a firing asks the server only for the UIDs above the ledger's mark
     * ({@code UID FETCH n:*}, UIDs and sizes in one command), never for the folder's whole list, and still deletes
     * what is due; a firing with nothing due changes nothing on the server.
     */
    @Test
    public void imapAsksOnlyAboveTheLedgersMarkAndStillDeletesWhatIsDue() throws Exception {
        for (int i = 1; i <= 5; i++) {
            deliver("old " + i);
        }
        List<String> commands = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (CommandProxy proxy = new CommandProxy(new java.net.InetSocketAddress("127.0.0.1", greenMail.getImap().getPort()),
                l -> {
                    if (l.startsWith("C: ")) {
                        commands.add(l.substring(l.indexOf(' ', 3) + 1));
                    }
                    return false;
                })) {
            Settings s = imap("port", String.valueOf(proxy.port()), "leaveOnServer.days", "2");
            assertEquals(5, collect(s, dir, clock).collected());
            assertTrue(commands.toString(), commands.contains("UID FETCH 1:* (UID RFC822.SIZE)"));
            assertChangesNothing(commands);

            deliver("new 1");
            deliver("new 2");
            commands.clear();
            clock.advance(Duration.ofDays(1));
            CollectReport second = collect(s, dir, clock);
            assertEquals(2, second.collected());
            assertTrue(commands.toString(), commands.contains("UID FETCH 6:* (UID RFC822.SIZE)"));
            assertChangesNothing(commands);
            assertFalse("no command names the whole folder: " + commands,
                    commands.stream().anyMatch(c -> c.matches(".*FETCH 1[:, ].*")));

            commands.clear();
            CollectReport third = collect(s, dir, clock);
            assertEquals(0, third.collected());
            assertEquals(List.of(), third.errors());
            assertTrue(commands.toString(), commands.contains("UID FETCH 8:* (UID RFC822.SIZE)"));
            assertChangesNothing(commands);
            assertEquals(7, onServer());

            // the first five are due now; the two new ones are kept another day
            commands.clear();
            clock.advance(Duration.ofDays(1).plusHours(1));
            CollectReport fourth = collect(s, dir, clock);
            assertEquals(0, fourth.collected());
            assertEquals(List.of(), fourth.errors());
            assertEquals(2, onServer());
            assertEquals(7, subjects(dir.resolve("mailboxes/alice")).size());
        }
    }

    private static void assertChangesNothing(List<String> commands) {
        assertFalse("nothing due: " + commands, commands.stream().anyMatch(c -> c.contains("STORE") || c.contains("EXPUNGE")));
        assertTrue("one listing command, UIDs and sizes together: " + commands,
                commands.stream().noneMatch(c -> c.matches("UID FETCH \\d+:\\* \\(UID\\)")));
    }

    @Test
    public void imapUidValidityChangeLosesNothingAndSaysSo() throws Exception {
        AtomicBoolean rebuilt = new AtomicBoolean();
        Pattern validity = Pattern.compile("UIDVALIDITY (\\d+)");
        try (RewritingProxy proxy = new RewritingProxy(greenMail.getImap().getPort(), l -> {
            Matcher m = validity.matcher(l);
            return rebuilt.get() && m.find() ? m.replaceFirst("UIDVALIDITY " + (Long.parseLong(m.group(1)) + 7)) : l;
        })) {
            deliver("m1");
            deliver("m2");
            Settings s = imap("port", String.valueOf(proxy.port()), "leaveOnServer.days", "5");
            assertEquals(2, collect(s, dir, clock).collected());

            // the server rebuilt its index: every UID it gave before is void
            rebuilt.set(true);
            deliver("m3");
            CollectReport second = collect(s, dir, clock);
            assertEquals(1, second.errors().size());
            assertTrue(second.errors().get(0), second.errors().get(0).contains("changed the folder's UIDVALIDITY")
                    && second.errors().get(0).contains("collected again (duplicates are possible; nothing is lost)"));
            assertEquals("what the folder holds cannot be told apart: collected again", 3, second.collected());
            assertTrue(subjects(dir.resolve("mailboxes/alice")).containsAll(List.of("m1", "m2", "m3")));

            CollectReport third = collect(s, dir, clock);
            assertEquals("said once; the new UIDs are known now", List.of(), third.errors());
            assertEquals(0, third.collected());
        }
    }

    @Test
    public void imapLeaveOnServerOverSeveralFiringsNeverDuplicates() throws Exception {
        for (int i = 1; i <= 3; i++) {
            deliver("day0 " + i);
        }
        Settings s = imap("leaveOnServer.days", "2");
        assertEquals(3, collect(s, dir, clock).collected());
        assertEquals(3, onServer());

        clock.advance(Duration.ofDays(1));
        deliver("day1 1");
        deliver("day1 2");
        CollectReport second = collect(s, dir, clock);
        assertEquals(List.of(), second.errors());
        assertEquals(2, second.collected());
        assertEquals(5, onServer());

        clock.advance(Duration.ofDays(1).plusHours(1));
        CollectReport third = collect(s, dir, clock);
        assertEquals(0, third.collected());
        assertEquals("the day-0 messages are two days old and go; the day-1 ones stay", 2, onServer());

        clock.advance(Duration.ofDays(1));
        assertEquals(0, collect(s, dir, clock).collected());
        assertEquals(0, onServer());
        assertEquals(List.of("day0 1", "day0 2", "day0 3", "day1 1", "day1 2"), subjects(dir.resolve("mailboxes/alice")));
    }

    @Test
    public void pop3LeaveOnServerDeletesOnlyWhenTheTimeHasCome() throws Exception {
        deliver("kept a day");
        Settings s = pop3("leaveOnServer.days", "1");
        assertEquals(1, collect(s, dir, clock).collected());
        assertEquals(0, collect(s, dir, clock).collected());
        assertEquals(1, onServer());
        clock.advance(Duration.ofDays(1));
        assertEquals(0, collect(s, dir, clock).collected());
        assertEquals(0, onServer());
        assertEquals(1, newFiles(dir.resolve("mailboxes/alice")).size());
    }

    @Test
    public void routingByHeadersDeliversPerRecipientAndTheRestToPostmaster() throws Exception {
        alice.deliver(mime(message("x@example.net", "Alice <Alice@Example.com>, \"Smith, Bob\" <bob@example.org>",
                "to two", "both")));
        alice.deliver(mime(message("x@example.net", "stranger@other.net", "to nobody", "unroutable")));
        alice.deliver(mime(message("x@example.net", "../../etc@example.com", "evil name", "unroutable too")));
        alice.deliver(mime(("Delivered-To: carol@example.com\r\n" + new String(
                message("x@example.net", "list@lists.example.net", "via list", "list mail"), StandardCharsets.US_ASCII))
                .getBytes(StandardCharsets.US_ASCII)));
        CollectReport r = collect(pop3("deliverTo", "", "route", "headers", "domains", "example.com, example.org"), dir, clock);
        assertEquals(List.of(), r.errors());
        assertEquals(4, r.collected());
        Path mb = dir.resolve("mailboxes");
        assertEquals(List.of("to two"), subjects(mb.resolve("alice")));
        assertEquals(List.of("to two"), subjects(mb.resolve("bob")));
        assertEquals(List.of("via list"), subjects(mb.resolve("carol")));
        assertEquals(List.of("evil name", "to nobody"), subjects(mb.resolve("postmaster")));
        try (Stream<Path> all = Files.list(mb)) {
            assertEquals(List.of("alice", "bob", "carol", "postmaster"),
                    all.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    public void whenTheLinkGoesDownCollectingStopsAndWhatIsStoredStaysSafe() throws Exception {
        for (int i = 1; i <= 4; i++) {
            deliver("link " + i);
        }
        Fixture.Context ctx = new Fixture.Context() {
            int asked;

            @Override
            public boolean linkUp() {
                return ++asked <= 2;
            }
        };
        CollectReport r = Fixture.collection(pop3(), dir, clock).run(ctx);
        assertEquals(2, r.collected());
        assertTrue(r.errors().toString(), r.errors().get(0).contains("the link went down: stopped after 2 of 4"));
        assertEquals("nothing deleted while the link is down", 4, onServer());

        CollectReport next = collect(pop3(), dir, clock);
        assertEquals(List.of(), next.errors());
        assertEquals(2, next.collected());
        assertEquals(0, onServer());
        assertEquals(4, newFiles(dir.resolve("mailboxes/alice")).size());
    }

    @Test
    public void aWrongPasswordIsReportedWithoutThePassword() throws Exception {
        CollectReport r = collect(pop3("password", "wrong-Secret-123"), dir, clock);
        assertEquals(1, r.errors().size());
        String e = r.errors().get(0);
        assertTrue(e, e.startsWith("login refused: ") && e.contains("user 'alice'"));
        assertFalse(e, e.contains("wrong-Secret-123"));
    }
}
