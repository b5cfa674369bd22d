package io.uplink.mail.internal.store;

import static org.junit.Assert.assertEquals;
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
}
