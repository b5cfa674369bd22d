package io.uplink.mail.internal.collect;

import io.uplink.api.config.Settings;
import static io.uplink.mail.internal.collect.Fixture.collect;
import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static io.uplink.mail.internal.collect.Fixture.settings;
import static io.uplink.mail.internal.collect.Fixture.subjects;
import static org.junit.Assert.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

import jakarta.mail.Folder;
import jakarta.mail.Session;
import jakarta.mail.Store;

import org.eclipse.angus.mail.pop3.POP3Folder;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.testsupport.MovableClock;

/**
 * A POP3 server that starts its UIDs afresh (here: GreenMail restarted with an empty store) hands out a
 * UID the ledger already holds. Such a message must not be blocked for ever.
 */
public class UidReuseTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;
    private final MovableClock clock = new MovableClock(Instant.parse("2026-03-01T10:00:00Z"));

    @After
    public void stop() {
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    /** A fresh server holding one message; returns that message's UIDL. */
    private String freshServerWith(byte[] raw) throws Exception {
        if (greenMail != null) {
            greenMail.stop();
        }
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        greenMail.start();
        var user = greenMail.setUser("alice@example.com", "alice", "pw");
        if (raw == null) {
            return null;
        }
        user.deliver(mime(raw));
        Store store = Session.getInstance(new Properties()).getStore("pop3");
        store.connect("127.0.0.1", greenMail.getPop3().getPort(), "alice", "pw");
        try {
            POP3Folder f = (POP3Folder) store.getFolder("INBOX");
            f.open(Folder.READ_ONLY);
            String uid = f.getUID(f.getMessage(1));
            f.close(false);
            return uid;
        } finally {
            store.close();
        }
    }

    private Settings cfg() {
        return settings("alice", "connections", "office", "protocol", "pop3", "host", "127.0.0.1",
                "port", String.valueOf(greenMail.getPop3().getPort()), "security", "none", "username", "alice",
                "password", "pw", "deliverTo", "alice", "uidl.expiryDays", "7");
    }

    private int onServer() throws Exception {
        return greenMail.getManagers().getImapHostManager()
                .getInbox(greenMail.getUserManager().getUser("alice")).getMessageCount();
    }

    @Test
    public void aReusedUidAfterAConfirmedDeletionIsNewMailNeverDeletedUnread() throws Exception {
        Path dir = tmp.getRoot().toPath();
        String uid1 = freshServerWith(message("b@example.net", "alice@example.com", "first AAA", "same size"));
        assertEquals(1, collect(cfg(), dir, clock).collected());

        clock.advance(Duration.ofDays(1));
        String uid2 = freshServerWith(message("b@example.net", "alice@example.com", "second B", "same size"));
        assertEquals("precondition: the server reuses the UID, same size", uid1, uid2);
        assertEquals(1, collect(cfg(), dir, clock).collected());
        assertEquals(0, onServer());
        assertEquals(List.of("first AAA", "second B"), subjects(dir.resolve("mailboxes/alice")));
    }

    @Test
    public void aUidThatVanishedAndCameBackIsNewMailEvenWhenLeftOnServer() throws Exception {
        Path dir = tmp.getRoot().toPath();
        String uid1 = freshServerWith(message("b@example.net", "alice@example.com", "first AAA", "same size"));
        assertEquals(1, collect(keep(), dir, clock).collected());
        assertEquals(0, collect(keep(), dir, clock).collected());

        // the server loses its store (we never deleted the message) and later reuses the UID
        clock.advance(Duration.ofDays(1));
        freshServerWith(null);
        assertEquals(0, collect(keep(), dir, clock).collected());
        clock.advance(Duration.ofDays(1));
        String uid2 = freshServerWith(message("b@example.net", "alice@example.com", "second B", "same size"));
        assertEquals("precondition: the server reuses the UID, same size", uid1, uid2);
        assertEquals(1, collect(keep(), dir, clock).collected());
        assertEquals(0, collect(keep(), dir, clock).collected());
        assertEquals(1, onServer());
        assertEquals(List.of("first AAA", "second B"), subjects(dir.resolve("mailboxes/alice")));
    }

    private Settings keep() {
        return settings("alice", "connections", "office", "protocol", "pop3", "host", "127.0.0.1",
                "port", String.valueOf(greenMail.getPop3().getPort()), "security", "none", "username", "alice",
                "password", "pw", "deliverTo", "alice", "uidl.expiryDays", "7", "leaveOnServer.days", "30");
    }

    @Test
    public void aReusedUidOfAnotherSizeIsANewMessageAtOnce() throws Exception {
        Path dir = tmp.getRoot().toPath();
        String uid1 = freshServerWith(message("b@example.net", "alice@example.com", "first", "short"));
        assertEquals(1, collect(cfg(), dir, clock).collected());
        String uid2 = freshServerWith(message("b@example.net", "alice@example.com", "second", "a longer body than before"));
        assertEquals(uid1, uid2);
        assertEquals(1, collect(cfg(), dir, clock).collected());
        assertEquals(0, onServer());
        assertEquals(List.of("first", "second"), subjects(dir.resolve("mailboxes/alice")));
    }
}
