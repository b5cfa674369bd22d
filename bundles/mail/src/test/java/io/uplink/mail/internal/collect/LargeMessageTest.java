package io.uplink.mail.internal.collect;

import static io.uplink.mail.internal.collect.Fixture.mime;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * A 50 MB message is collected by a JVM whose whole heap is smaller than the message (48 MB, below the
 * 256 MB the issue asks for), which only works if it streams from the socket to the file.
 */
public class LargeMessageTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;

    @After
    public void stop() {
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    public void fiftyMegabytesStreamThroughASmallerHeapOverPop3AndImap() throws Exception {
        greenMail = new GreenMail(new ServerSetup[] {new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_IMAP)});
        greenMail.start();
        GreenMailUser alice = greenMail.setUser("alice@example.com", "alice", "pw");
        StringBuilder b = new StringBuilder(52 * 1024 * 1024);
        b.append("From: bob@example.net\r\nTo: alice@example.com\r\nSubject: big\r\n\r\n");
        String line = "0123456789".repeat(7) + "ABCDEFGH\r\n";
        while (b.length() < 50 * 1024 * 1024) {
            b.append(line);
        }
        byte[] raw = b.toString().getBytes(StandardCharsets.US_ASCII);
        b = null;
        alice.deliver(mime(raw));
        alice.deliver(mime(raw));

        Path dir = tmp.getRoot().toPath();
        for (String protocol : List.of("pop3", "imap")) {
            int port = protocol.equals("pop3") ? greenMail.getPop3().getPort() : greenMail.getImap().getPort();
            Path log = dir.resolve(protocol + ".log");
            Process p = CollectMain.start("48m", dir, log, "connections=office", "protocol=" + protocol, "host=127.0.0.1",
                    "port=" + port, "security=none", "username=alice", "password=pw", "deliverTo=" + protocol,
                    "leaveOnServer.days=1");
            assertTrue(p.waitFor(300, TimeUnit.SECONDS));
            String out = Files.readString(log);
            assertTrue(out, out.contains("REPORT collected=2 skipped=0 errors=[]"));
            List<Path> files = Fixture.newFiles(dir.resolve("mailboxes").resolve(protocol));
            assertEquals(2, files.size());
            for (Path f : files) {
                assertTrue(f + " " + Files.size(f), Files.size(f) >= 50L * 1024 * 1024);
            }
        }
    }
}
