package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.settings;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import io.uplink.api.mail.CollectReport;
import io.uplink.mail.testing.Dovecot;

/**
 * POP3 RETR pipelined when the server offers PIPELINING: every message arrives byte for byte as the server
 * holds it (lines that start with dots, a lone dot, messages larger than what is asked ahead), from the
 * scripted server (which shows that the RETRs went out ahead) and from Debian's Dovecot.
 */
public class Pop3PipelineTest {

    private static final Pattern SUBJECT = Pattern.compile("^Subject: (.*)$", Pattern.MULTILINE);

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Messages whose lines start with dots, one lone dot line, and sizes below and above the window. */
    private static Map<String, byte[]> tricky() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 1; i <= 45; i++) {
            String body = switch (i % 5) {
                case 0 -> ".\r\n..\r\n...three\r\n.one\r\nend";
                case 1 -> "x".repeat(4000 + i);
                case 2 -> ".starts with a dot\r\nand\r\n.\r\nthe lone dot above is content";
                case 3 -> ("line " + i + " " + "y".repeat(70) + "\r\n.dotted\r\n").repeat(i * 40);
                default -> "";
            };
            out.put("m" + i, message("bob@example.net", "alice@example.com", "m" + i, body));
        }
        // larger than everything asked ahead at once
        out.put("big", message("bob@example.net", "alice@example.com", "big", ("z".repeat(76) + "\r\n.\r\n").repeat(9000)));
        out.put("last", message("bob@example.net", "alice@example.com", "last", "after the big one"));
        return out;
    }

    private static Map<String, byte[]> stored(Path mailbox) throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Path p : Fixture.newFiles(mailbox)) {
            byte[] b = Files.readAllBytes(p);
            Matcher m = SUBJECT.matcher(new String(b, 0, Math.min(b.length, 400), java.nio.charset.StandardCharsets.US_ASCII));
            assertTrue(p.toString(), m.find());
            out.put(m.group(1).trim(), b);
        }
        return out;
    }

    private static void assertSame(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        assertEquals(new ArrayList<>(expected.keySet()).stream().sorted().toList(),
                new ArrayList<>(actual.keySet()).stream().sorted().toList());
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
            assertArrayEquals(e.getKey(), e.getValue(), actual.get(e.getKey()));
        }
    }

    @Test
    public void pipelinedMessagesArriveByteForByteAndAreDeletedOnlyAfterwards() throws Exception {
        Map<String, byte[]> mails = tricky();
        try (ScriptedPop3Server pop = new ScriptedPop3Server()) {
            pop.pipelining = true;
            mails.forEach(pop::add);
            Path dir = tmp.getRoot().toPath();
            CollectReport r = Fixture.collect(settings("piped", "connections", "office", "protocol", "pop3", "host",
                    "127.0.0.1", "port", String.valueOf(pop.port()), "security", "none", "username", "u", "password",
                    "pw", "deliverTo", "alice"), dir, Clock.systemUTC());
            assertEquals(List.of(), r.errors());
            assertEquals(mails.size(), r.collected());
            assertTrue("RETRs were sent ahead of their answers", pop.retrsAhead.get() > 0);
            assertSame(mails, stored(dir.resolve("mailboxes/alice")));
            assertEquals("every message deleted once stored", 0, pop.mails.size());
            assertEquals(mails.size(), pop.count("DELE"));
            assertTrue("DELEs were sent ahead of their answers", pop.delesAhead.get() > 0);
        }
    }

    @Test
    public void aRefusedDeleLeavesThatMessageForTheNextFiringWithoutCollectingItAgain() throws Exception {
        try (ScriptedPop3Server pop = new ScriptedPop3Server()) {
            pop.pipelining = true;
            for (int i = 1; i <= 40; i++) {
                pop.add("u" + i, message("bob@example.net", "alice@example.com", "m" + i, "body " + i));
            }
            pop.refuseDeleOf = 7;
            Path dir = tmp.getRoot().toPath();
            io.uplink.api.config.Settings s = settings("refused", "connections", "office", "protocol", "pop3", "host",
                    "127.0.0.1", "port", String.valueOf(pop.port()), "security", "none", "username", "u", "password",
                    "pw", "deliverTo", "alice");
            CollectReport r = Fixture.collect(s, dir, Clock.systemUTC());
            assertEquals(40, r.collected());
            assertEquals(r.errors().toString(), 1, r.errors().size());
            assertTrue(r.errors().get(0), r.errors().get(0).contains("refused to delete message u7")
                    && r.errors().get(0).contains("is locked"));
            assertTrue("DELEs were sent ahead of their answers", pop.delesAhead.get() > 0);
            assertEquals("only the refused one is left", List.of("u7"), pop.mails.stream().map(m -> m.uid()).toList());

            pop.refuseDeleOf = -1;
            CollectReport again = Fixture.collect(s, dir, Clock.systemUTC());
            assertEquals(List.of(), again.errors());
            assertEquals("not collected again", 0, again.collected());
            assertEquals("deleted now", 0, pop.mails.size());
            assertEquals(40, stored(dir.resolve("mailboxes/alice")).size());
        }
    }

    @Test
    public void fromDovecotEveryMessageArrivesByteForByte() throws Exception {
        Path root = tmp.getRoot().toPath();
        try (Dovecot dovecot = Dovecot.start(root.resolve("dovecot"), root.resolve("server-mail"))) {
            dovecot.user("alice");
            Path fresh = dovecot.mail().resolve("alice/new");
            Files.createDirectories(dovecot.mail().resolve("alice/cur"));
            Files.createDirectories(dovecot.mail().resolve("alice/tmp"));
            Files.createDirectories(fresh);
            Map<String, byte[]> mails = tricky();
            int n = 0;
            for (byte[] m : mails.values()) {
                Files.write(fresh.resolve((1700000000 + n) + ".M" + n + "P1.test"), m);
                n++;
            }
            dovecot.own(dovecot.mail().resolve("alice"));
            Path dir = root.resolve("uplink");
            CollectReport r = Fixture.collect(settings("dovecot", "connections", "office", "protocol", "pop3", "host",
                    "127.0.0.1", "port", String.valueOf(dovecot.pop3Port()), "security", "none", "username", "alice",
                    "password", Dovecot.PASSWORD, "deliverTo", "alice"), dir, Clock.systemUTC());
            assertEquals(dovecot.log(), List.of(), r.errors());
            assertEquals(mails.size(), r.collected());
            assertSame(mails, stored(dir.resolve("mailboxes/alice")));
            for (String sub : new String[] {"new", "cur"}) {
                try (var left = Files.list(dovecot.mail().resolve("alice").resolve(sub))) {
                    assertEquals("all deleted on the server", 0, left.filter(Files::isRegularFile).count());
                }
            }
        }
    }
}
