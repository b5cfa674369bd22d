package io.uplink.mail.internal.send;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.QueuedMessage;
import io.uplink.api.mail.SendReport;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Faults and SMTP features against a scripted server on a real socket. */
public class SmtpFaultTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private ScriptedSmtpServer server;
    private SendFixture f;

    @Before
    public void start() throws Exception {
        server = new ScriptedSmtpServer();
        f = new SendFixture(tmp.newFolder("data").toPath());
    }

    @After
    public void stop() throws Exception {
        server.close();
    }

    private SmtpSender plain(String... more) {
        List<String> kv = new ArrayList<>(List.of("hosts", "127.0.0.1:" + server.port(), "security", "none"));
        kv.addAll(List.of(more));
        return f.sender("relay", kv.toArray(new String[0]));
    }

    private static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    public void allMessagesGoOverOneSessionByteIdentical() throws Exception {
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String m = SendFixture.message("a@example.org", "b@example.net", "m" + i, "line\r\n.dot line\r\nÄÖÜ " + i);
            sent.add(m.getBytes(StandardCharsets.UTF_8));
            f.queue(m);
        }
        SendReport r = f.fire(plain());
        assertEquals(r.errors().toString(), 4, r.sent());
        assertEquals("one SMTP session for all messages", 1, server.sessions.get());
        assertEquals(4, server.received.size());
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(sent.get(i), server.received.get(i).data());
        }
        assertEquals(0, f.outbox.size());
    }

    @Test
    public void sizeAndEightBitMimeAreDeclared() throws Exception {
        server.sizeLimit = 100_000;
        QueuedMessage ascii = f.queue(SendFixture.message("a@example.org", "b@example.net", "ascii", "plain"));
        QueuedMessage eight = f.queue(SendFixture.message("a@example.org", "b@example.net", "eight", "Grüße"));
        f.fire(plain());
        List<String> mails = server.mailFroms();
        assertEquals(2, mails.size());
        assertTrue(mails.get(0), mails.get(0).contains("SIZE=" + ascii.size()) && !mails.get(0).contains("8BITMIME"));
        assertTrue(mails.get(1), mails.get(1).contains("SIZE=" + eight.size()) && mails.get(1).contains("BODY=8BITMIME"));
    }

    @Test
    public void aMessageOverTheServersSizeLimitIsBouncedNotSent() throws Exception {
        server.sizeLimit = 200;
        f.queue(SendFixture.message("a@example.org", "b@example.net", "big", "x".repeat(500)));
        f.queue(SendFixture.message("a@example.org", "b@example.net", "small", "y"));
        SendReport r = f.fire(plain());
        assertEquals(1, r.sent());
        assertEquals(1, r.failed());
        assertEquals(1, server.received.size());
        assertEquals(1, f.bounces().size());
        assertTrue(Files.readString(f.bounces().get(0)).contains("Status: 5.3.4"));
    }

    @Test
    public void starttlsWithTheServersCertificateInTrustFile() throws Exception {
        server.startTls = true;
        Path pem = SendFixture.greenMailCertificatePem(tmp.getRoot().toPath());
        f.queue(SendFixture.message("a@example.org", "b@example.net", "tls", "body"));
        SendReport r = f.fire(f.sender("relay", "hosts", "127.0.0.1:" + server.port(), "trust.file", pem.toString(),
                "username", "u", "password", "p"));
        assertEquals(r.errors().toString(), 1, r.sent());
        assertTrue(server.commands.contains("STARTTLS"));
        // credentials only after TLS: the scripted server saw AUTH inside the TLS session
        assertTrue(server.commands.indexOf("STARTTLS") < indexStarting(server.commands, "AUTH"));
    }

    @Test
    public void starttlsRequiredButNotOfferedIsRefused() throws Exception {
        server.startTls = false;
        f.queue(SendFixture.message("a@example.org", "b@example.net", "tls", "body"));
        SendReport r = f.fire(f.sender("relay", "hosts", "127.0.0.1:" + server.port()));
        assertEquals(0, r.sent());
        assertTrue(r.errors().toString(), r.errors().get(0).contains("STARTTLS"));
        assertEquals(0, server.dataCount.get());
        assertEquals(1, f.outbox.size());
        // starttls-if-available goes on without it
        SendReport r2 = f.fire(f.sender("relay2", "hosts", "127.0.0.1:" + server.port(), "security", "starttls-if-available"));
        assertEquals(r2.errors().toString(), 1, r2.sent());
    }

    @Test
    public void untrustedStarttlsCertificateIsRefused() throws Exception {
        server.startTls = true;
        f.queue(SendFixture.message("a@example.org", "b@example.net", "tls", "body"));
        SendReport r = f.fire(f.sender("relay", "hosts", "127.0.0.1:" + server.port(), "username", "u", "password", "p"));
        assertEquals(0, r.sent());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("not trusted"));
        assertEquals("no password over an untrusted connection", -1, indexStarting(server.commands, "AUTH"));
        assertEquals(1, f.outbox.size());
    }

    private static int indexStarting(List<String> list, String prefix) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    public void serverClosingDuringDataKeepsTheMessageForTheNextFiring() throws Exception {
        server.closeDuringData = n -> n == 2 ? 30 : -1;
        for (int i = 0; i < 3; i++) {
            f.queue(SendFixture.message("a@example.org", "b@example.net", "m" + i, "body " + i));
        }
        SendReport r = f.fire(plain());
        assertEquals(1, r.sent());
        assertEquals("the broken one and the one never tried", 2, r.deferred());
        assertEquals(2, f.outbox.size());
        assertTrue(r.errors().toString(), r.errors().get(0).contains("not sent"));
        QueuedMessage broken = f.outbox.list().get(0);
        assertEquals(1, broken.attempts());
        assertNull("a broken connection is not the message's fault: due at once", broken.nextTry());
        // next firing, same clock: both go
        SendReport r2 = f.fire(plain());
        assertEquals(r2.errors().toString(), 2, r2.sent());
        assertEquals(0, f.outbox.size());
        assertEquals(3, server.received.size());
    }

    @Test
    public void temporaryFailureThenSuccess() throws Exception {
        server.dataReply = n -> n == 1 ? "451 4.3.0 try again later" : "250 2.0.0 ok";
        f.queue(SendFixture.message("a@example.org", "b@example.net", "m", "body"));
        SendReport r = f.fire(plain());
        assertEquals(0, r.sent());
        assertEquals(1, r.deferred());
        QueuedMessage q = f.outbox.list().get(0);
        assertEquals(1, q.attempts());
        assertTrue(q.lastError(), q.lastError().startsWith("451"));
        assertEquals(f.clock.instant().plus(Duration.ofMinutes(1)), q.nextTry());
        // not due yet: nothing happens, not even a connection
        int sessions = server.sessions.get();
        assertEquals(0, f.fire(plain()).sent());
        assertEquals(sessions, server.sessions.get());
        f.clock.advance(Duration.ofMinutes(1));
        SendReport r2 = f.fire(plain());
        assertEquals(1, r2.sent());
        assertEquals(0, f.outbox.size());
        assertTrue(f.bounces().isEmpty());
    }

    @Test
    public void mixedRecipientsSendToTheGoodBounceTheRefusedRetryTheDeferred() throws Exception {
        server.rcptReply = a -> a.startsWith("nobody") ? "550 5.1.1 no such user"
                : a.startsWith("later") ? "452 4.2.2 mailbox full" : "250 2.1.5 ok";
        f.queue(SendFixture.message("a@example.org", "good@example.net, nobody@example.net, later@example.net", "m", "b"));
        SendReport r = f.fire(plain());
        assertEquals(1, server.received.size());
        assertEquals(List.of("good@example.net"), server.received.get(0).rcptTo());
        assertEquals(1, r.deferred());
        QueuedMessage q = f.outbox.list().get(0);
        assertEquals(List.of("later@example.net"), q.pending());
        assertEquals(1, f.bounces().size());
        String dsn = Files.readString(f.bounces().get(0));
        assertTrue(dsn, dsn.contains("multipart/report; report-type=delivery-status"));
        assertTrue(dsn, dsn.contains("Final-Recipient: rfc822; nobody@example.net"));
        assertTrue(dsn, dsn.contains("Status: 5.1.1"));
        assertTrue(dsn, dsn.contains("Diagnostic-Code: smtp; 550 5.1.1 no such user"));
        assertFalse(dsn, dsn.contains("Final-Recipient: rfc822; good@example.net"));

        server.rcptReply = a -> "250 ok";
        f.clock.advance(Duration.ofHours(1));
        SendReport r2 = f.fire(plain());
        assertEquals(1, r2.failed() + r2.sent());
        assertEquals(List.of("later@example.net"), server.received.get(1).rcptTo());
        assertEquals(0, f.outbox.size());
        assertEquals("one recipient failed for good: the message is kept in failed/", 1,
                Files.list(f.outbox.failedDir()).filter(p -> p.toString().endsWith(".eml")).count());
    }

    @Test
    public void allRecipientsRefusedMovesToFailedWithABounce() throws Exception {
        server.rcptReply = a -> "550 5.7.1 relaying denied";
        QueuedMessage q = f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b"));
        SendReport r = f.fire(plain());
        assertEquals(1, r.failed());
        assertEquals(0, f.outbox.size());
        assertEquals(0, server.dataCount.get());
        assertTrue(Files.exists(f.outbox.failedDir().resolve(q.id() + ".eml")));
        String state = Files.readString(f.outbox.failedDir().resolve(q.id() + ".state"));
        assertTrue(state, state.contains("relaying denied"));
        assertEquals(1, f.bounces().size());
    }

    @Test
    public void givesUpAfterMaxAge() throws Exception {
        server.dataReply = n -> "421 4.3.2 busy";
        f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b"));
        f.fire(plain());
        assertEquals(1, f.outbox.size());
        f.clock.advance(Duration.ofDays(5));
        SendReport r = f.fire(plain());
        assertEquals(1, r.failed());
        assertEquals(0, f.outbox.size());
        String dsn = Files.readString(f.bounces().get(0));
        assertTrue(dsn, dsn.contains("gave up after 5d") && dsn.contains("Status: 4.4.7"));
    }

    @Test
    public void nextHostOnlyWhenAHostDoesNotAnswer() throws Exception {
        f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b"));
        SendReport r = f.fire(f.sender("relay", "hosts", "127.0.0.1:" + closedPort() + ", 127.0.0.1:" + server.port(),
                "security", "none"));
        assertEquals(r.errors().toString(), 1, r.sent());

        // a host that answers with an error is final: the next host is not tried
        try (ScriptedSmtpServer refusing = new ScriptedSmtpServer()) {
            refusing.greeting = "554 5.7.1 go away";
            f.queue(SendFixture.message("a@example.org", "x@example.net", "m2", "b"));
            int before = server.sessions.get();
            SendReport r2 = f.fire(f.sender("relay", "hosts", "127.0.0.1:" + refusing.port() + ", 127.0.0.1:" + server.port(),
                    "security", "none"));
            assertEquals(0, r2.sent());
            assertEquals(before, server.sessions.get());
            assertEquals(1, refusing.sessions.get());
            assertTrue(r2.errors().get(0), r2.errors().get(0).contains("127.0.0.1:" + refusing.port()));
        }

        // nobody answers: one clear error naming the hosts
        SendReport r3 = f.fire(f.sender("relay", "hosts", "127.0.0.1:" + closedPort(), "security", "none"));
        assertTrue(r3.errors().get(0), r3.errors().get(0).contains("no relay host answered")
                && r3.errors().get(0).contains("key 'hosts'"));
        assertEquals(1, f.outbox.size());
        assertEquals("a host that did not answer is no attempt at the message", 0, f.outbox.list().get(0).attempts());
    }

    @Test
    public void maxMessagesPerSessionLeavesTheRestForTheNextFiring() throws Exception {
        for (int i = 0; i < 5; i++) {
            f.queue(SendFixture.message("a@example.org", "x@example.net", "m" + i, "b"));
        }
        SendReport r = f.fire(plain("maxMessagesPerSession", "2"));
        assertEquals(2, r.sent());
        assertEquals(3, r.deferred());
        assertEquals(3, f.outbox.size());
        assertEquals(2, f.fire(plain("maxMessagesPerSession", "2")).sent());
        assertEquals(1, f.fire(plain("maxMessagesPerSession", "2")).sent());
    }

    @Test
    public void smallerFirstAndUrgentFirst() throws Exception {
        f.queue(SendFixture.message("a@example.org", "x@example.net", "big", "b".repeat(3000)));
        f.queue(SendFixture.message("a@example.org", "x@example.net", "medium", "b".repeat(1000)));
        f.queue(SendFixture.message("a@example.org", "x@example.net", "small", "b"));
        f.queue("From: a@example.org\r\nTo: x@example.net\r\nSubject: urgent\r\nX-Priority: 1 (Highest)\r\n\r\n"
                + "u".repeat(2000) + "\r\n");
        assertTrue(f.outbox.list().get(3).priority());
        f.fire(plain("smallerFirst", "true"));
        List<String> subjects = new ArrayList<>();
        for (ScriptedSmtpServer.Received m : server.received) {
            String s = new String(m.data(), StandardCharsets.UTF_8);
            subjects.add(s.replaceAll("(?s).*Subject: (\\w+).*", "$1"));
        }
        assertEquals(List.of("urgent", "small", "medium", "big"), subjects);
    }

    @Test
    public void anEndlessLineIsCutOffWithAClearError() throws Exception {
        server.endlessGreeting = true;
        f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b"));
        // an unbounded reader would never return: the firing must end on its own
        SmtpSender sender = plain();
        SendReport r = CompletableFuture.supplyAsync(() -> {
            try {
                return f.fire(sender);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }).get(60, TimeUnit.SECONDS);
        assertEquals(0, r.sent());
        assertTrue(r.errors().get(0), r.errors().get(0).contains("more than " + ReplyLimitSocket.LIMIT + " bytes"));
        assertEquals(1, f.outbox.size());
        assertTrue("the sender hung up on the endless line", server.endlessCut.await(10, TimeUnit.SECONDS));
        // what got through is the limit plus at most what the kernel's socket buffers held at the hang-up
        long buffers = maxSocketBuffer("tcp_rmem") + maxSocketBuffer("tcp_wmem");
        assertTrue(server.endlessSent.get() + " bytes taken, more than " + ReplyLimitSocket.LIMIT + " + " + buffers,
                server.endlessSent.get() <= ReplyLimitSocket.LIMIT + buffers);
    }

    /** The largest buffer the kernel lets a TCP socket grow to ({@code /proc/sys/net/ipv4/tcp_rmem}, third field). */
    private static long maxSocketBuffer(String name) throws Exception {
        // read as a stream: procfs reports a size that Files.readString trusts and truncates to
        try (java.io.InputStream in = Files.newInputStream(Path.of("/proc/sys/net/ipv4", name))) {
            String[] fields = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+");
            return Long.parseLong(fields[2]);
        }
    }

    @Test
    public void stopsWhenTheLinkGoesDown() throws Exception {
        for (int i = 0; i < 3; i++) {
            f.queue(SendFixture.message("a@example.org", "x@example.net", "m" + i, "b"));
        }
        SendFixture.Context c = new SendFixture.Context() {
            int asked;

            @Override
            public boolean linkUp() {
                return ++asked <= 1;
            }
        };
        SendReport r = plain().send(c);
        assertEquals(1, r.sent());
        assertEquals(2, r.deferred());
        assertEquals(2, f.outbox.size());
        assertTrue(c.progressCalls > 0);
    }

    @Test
    public void messagesQueuedWhileSendingGoTooUnlessOnlyWaitingAtStart() throws Exception {
        f.queue(SendFixture.message("a@example.org", "x@example.net", "first", "b"));
        server.dataReply = n -> {
            if (n == 1) {
                try {
                    f.queue(SendFixture.message("a@example.org", "x@example.net", "late", "b"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            return "250 ok";
        };
        assertEquals(1, f.fire(plain("onlyWaitingAtStart", "true")).sent());
        assertEquals(1, f.outbox.size());
        server.dataReply = n -> "250 ok";
        f.queue(SendFixture.message("a@example.org", "x@example.net", "third", "b"));
        server.dataReply = n -> {
            try {
                if (n == 2) {
                    f.queue(SendFixture.message("a@example.org", "x@example.net", "fourth", "b"));
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return "250 ok";
        };
        assertEquals(3, f.fire(plain()).sent());
        assertEquals(0, f.outbox.size());
    }

    @Test
    public void aRefusedLoginKeepsTheMessageQueuedAndTheErrorHoldsNoPassword() throws Exception {
        server.authReply = "535 5.7.8 Error: authentication failed";
        f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b"));
        SendReport r = f.fire(plain("username", "office", "password", "Secret-pw-42"));
        assertEquals(0, r.sent());
        assertEquals(1, r.errors().size());
        String e = r.errors().get(0);
        assertTrue(e, e.contains("refused the login of 'office'") && e.contains("535"));
        assertFalse(e, e.contains("Secret-pw-42"));
        assertEquals("the message stays queued", 1, f.outbox.size());
        assertEquals("a refused login is no attempt at the message", 0, f.outbox.list().get(0).attempts());
        assertEquals(0, server.dataCount.get());
    }

    @Test
    public void aGreetingOneByteAtATimeEndsAtTheTimeout() throws Exception {
        server.dripGreetingMillis = 1000;
        server.greeting = "220 " + "x".repeat(60) + " ESMTP";
        f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b"));
        long t0 = System.nanoTime();
        // 70 bytes at one a second: 70 s; every single read gets its byte well within the 2 s timeout
        SendReport r = f.fire(plain("timeout", "2s"));
        long took = (System.nanoTime() - t0) / 1_000_000_000L;
        assertTrue("ended near its 2 s deadline, took " + took + " s", took < 20);
        assertEquals(0, r.sent());
        assertTrue(r.errors().toString(), r.errors().get(0).contains("no greeting from 127.0.0.1:" + server.port() + " within 2s"));
        assertEquals(1, f.outbox.size());
    }

    @Test
    public void aSlowReplyAfterDataRunsOutOfTheTransferDeadline() throws Exception {
        server.dripDataReplyMillis = 1000;
        server.dataReply = n -> "250 " + "x".repeat(60) + " queued";
        f.queue(SendFixture.message("a@example.org", "x@example.net", "m", "b".repeat(2000)));
        long t0 = System.nanoTime();
        // the message (~2 KB) gets 2 s + 2 KB at 1 KiB/s, about 4 s; the reply alone would drip for 70 s
        SendReport r = f.fire(plain("timeout", "2s", "minRate", "1K"));
        long took = (System.nanoTime() - t0) / 1_000_000_000L;
        assertTrue("ended near its deadline, took " + took + " s", took < 20);
        assertEquals(0, r.sent());
        String e = r.errors().get(0);
        assertTrue(e, e.contains("sending message") && e.contains("ran past its deadline of")
                && e.contains("'minRate' 1KiB/s"));
        assertEquals("not sent as far as the queue knows: it stays", 1, f.outbox.size());
    }
}
