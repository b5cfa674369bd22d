package io.uplink.mail.internal.store;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class MaildirTest {

    @Rule
    public TemporaryFolder dir = new TemporaryFolder();

    @Test
    public void deliversIntoNewWithUniqueNamesAndNothingLeftInTmp() throws Exception {
        Maildir m = Maildir.open(dir.getRoot().toPath().resolve("alice"));
        byte[] body = "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
        Set<Path> names = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            Path p = m.deliver(new ByteArrayInputStream(body));
            assertTrue(names.add(p.getFileName()));
            assertEquals("new", p.getParent().getFileName().toString());
            assertTrue(p.getFileName().toString().endsWith(",S=" + body.length));
            assertEquals(new String(body, StandardCharsets.US_ASCII), Files.readString(p, StandardCharsets.US_ASCII));
        }
        try (Stream<Path> tmp = Files.list(m.root().resolve("tmp"))) {
            assertEquals(0, tmp.count());
        }
        assertTrue(Files.isDirectory(m.root().resolve("cur")));
    }

    @Test
    public void aWrittenMessageReachesNewOnlyWhenCompletedAndAnAbandonedOneLeavesNothing() throws Exception {
        Maildir m = Maildir.open(dir.getRoot().toPath().resolve("bob"));
        byte[] body = "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
        String unique = Maildir.uniqueName();
        Maildir.Delivery d = m.write(unique, out -> out.write(body));
        assertEquals(new String(body, StandardCharsets.US_ASCII), Files.readString(d.temp(), StandardCharsets.US_ASCII));
        assertFalse(m.holds(unique));
        Path p = d.complete();
        assertTrue(m.holds(unique));
        assertEquals("new", p.getParent().getFileName().toString());
        assertFalse(Files.exists(d.temp()));

        Maildir.Delivery dropped = m.write(Maildir.uniqueName(), out -> out.write(body));
        dropped.abandon();
        try (Stream<Path> tmp = Files.list(m.root().resolve("tmp"))) {
            assertEquals(0, tmp.count());
        }
        try (Stream<Path> fresh = Files.list(m.root().resolve("new"))) {
            assertEquals(1, fresh.count());
        }
    }

    @Test
    public void holdsFindsAMessageAReaderMovedToCurWithFlagsButNotAnotherWithTheSamePrefix() throws Exception {
        Maildir m = Maildir.open(dir.getRoot().toPath().resolve("carol"));
        byte[] body = "Subject: hi\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
        String unique = Maildir.uniqueName();
        Path p = m.deliver(unique, out -> out.write(body), true);
        Path cur = m.root().resolve("cur").resolve(p.getFileName() + ",W=" + (body.length + 1) + ":2,RS");
        Files.move(p, cur);
        assertTrue(m.holds(unique));
        assertEquals(cur, m.find(unique));
        // a name that merely starts with the same characters is another message
        assertFalse(m.holds(unique.substring(0, unique.indexOf('.'))));
        Files.move(cur, m.root().resolve("cur").resolve(unique + ":2,S"));
        assertTrue("a reader may also drop the ,S= part", m.holds(unique));
    }
}
