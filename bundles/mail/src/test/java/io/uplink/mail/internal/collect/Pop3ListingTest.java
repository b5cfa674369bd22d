package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.message;
import static io.uplink.mail.internal.collect.Fixture.mime;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.eclipse.angus.mail.pop3.POP3Folder;
import org.junit.Test;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import jakarta.mail.FetchProfile;
import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.UIDFolder;

public class Pop3ListingTest {

    /** The list read off Angus's connection is the one Angus's API gives, and the session goes on after it. */
    @Test
    public void readsTheSameListAsAngusAndLeavesTheSessionUsable() throws Exception {
        GreenMail greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        greenMail.start();
        try {
            GreenMailUser alice = greenMail.setUser("alice@example.com", "alice", "pw");
            for (int i = 0; i < 5; i++) {
                alice.deliver(mime(message("bob@example.net", "alice@example.com", "m" + i, "Hello " + "x".repeat(i * 100))));
            }
            Store store = Session.getInstance(new Properties()).getStore("pop3");
            store.connect("127.0.0.1", greenMail.getPop3().getPort(), "alice", "pw");
            POP3Folder folder = (POP3Folder) store.getFolder("INBOX");
            folder.open(Folder.READ_WRITE);
            try {
                List<String> read = new ArrayList<>();
                assertTrue("this Angus can be read line by line",
                        Pop3Listing.read(folder, folder.getMessageCount(), false, (n, uid, size) -> read.add(n + " " + uid + " " + size)));
                Message[] all = folder.getMessages();
                FetchProfile fp = new FetchProfile();
                fp.add(UIDFolder.FetchProfileItem.UID);
                folder.fetch(all, fp);
                int[] sizes = folder.getSizes();
                List<String> angus = new ArrayList<>();
                for (int i = 0; i < all.length; i++) {
                    angus.add((i + 1) + " " + folder.getUID(all[i]) + " " + sizes[i]);
                }
                assertEquals(angus, read);
                assertEquals(5, read.size());
                assertTrue(new String(all[4].getInputStream().readAllBytes()).contains("Hello"));
            } finally {
                folder.close(false);
                store.close();
            }
        } finally {
            greenMail.stop();
        }
    }

    /**
     * With PIPELINING, UIDL goes out right behind LIST. When LIST is refused, the UIDL answer that follows is read
     * before the error is raised: the next listing on the session reads its own answers (left unread, the UIDL
     * answer would be taken for the next LIST's).
     */
    @Test
    public void aListRefusedUnderPipeliningLeavesTheSessionInStep() throws Exception {
        try (ScriptedPop3Server pop = new ScriptedPop3Server()) {
            pop.pipelining = true;
            for (int i = 1; i <= 3; i++) {
                pop.add("uid-" + i, message("bob@example.net", "alice@example.com", "m" + i, "Hello " + i));
            }
            Store store = Session.getInstance(new Properties()).getStore("pop3");
            store.connect("127.0.0.1", pop.port(), "u", "pw");
            POP3Folder folder = (POP3Folder) store.getFolder("INBOX");
            folder.open(Folder.READ_WRITE);
            try {
                pop.refuseList = true;
                try {
                    Pop3Listing.read(folder, folder.getMessageCount(), true, (n, uid, size) -> fail("listed " + uid));
                    fail("a refused LIST is an error");
                } catch (MessagingException e) {
                    assertEquals("the server refused LIST: -ERR [SYS/TEMP] listing failed", e.getMessage());
                }
                assertEquals("UIDL was sent with LIST", 1, pop.listsAhead.get());
                pop.refuseList = false;
                List<String> read = new ArrayList<>();
                assertTrue(Pop3Listing.read(folder, folder.getMessageCount(), true, (n, uid, size) -> read.add(n + " " + uid)));
                assertEquals(List.of("1 uid-1", "2 uid-2", "3 uid-3"), read);
            } finally {
                folder.close(false);
                store.close();
            }
        }
    }
}
