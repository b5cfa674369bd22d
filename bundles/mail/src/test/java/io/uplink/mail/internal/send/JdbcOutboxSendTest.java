package io.uplink.mail.internal.send;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.uplink.api.cluster.Fence;
import io.uplink.api.mail.SendReport;
import io.uplink.mail.internal.outbox.FileOutbox;
import io.uplink.mail.internal.outbox.JdbcOutbox;
import io.uplink.testsupport.PostgresServer;
import io.uplink.testsupport.SessionFence;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.postgresql.ds.PGSimpleDataSource;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

/**
 * The Mail Sender on the PostgreSQL outbox against GreenMail's real SMTP: every message reaches the server, and after
 * the sending node loses its fence mid-session, the connection's next firing on another node sends the rest, with at
 * most the message in flight twice.
 */
public class JdbcOutboxSendTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static PostgresServer pg;
    private String database;
    private GreenMail greenMail;
    private final Map<String, Fence> fencesA = new ConcurrentHashMap<>();
    private final Map<String, Fence> fencesB = new ConcurrentHashMap<>();

    @BeforeClass
    public static void startPostgres() throws Exception {
        pg = PostgresServer.start(false);
    }

    @AfterClass
    public static void stopPostgres() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    @Before
    public void start() throws Exception {
        database = pg.createDatabase();
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
    }

    @After
    public void stop() throws Exception {
        greenMail.stop();
        for (Fence f : fencesA.values()) {
            ((SessionFence) f).close();
        }
        for (Fence f : fencesB.values()) {
            ((SessionFence) f).close();
        }
        pg.dropDatabase(database);
    }

    private JdbcOutbox node(Map<String, Fence> fences) throws Exception {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(pg.url(database));
        ds.setUser(pg.user());
        return new JdbcOutbox(ds, id -> Optional.ofNullable(fences.get(id)), tmp.getRoot().toPath().resolve("postmaster"),
                FileOutbox.Bounces.POSTMASTER_ONLY, Clock.systemUTC(), FileOutbox.Retry.DEFAULT);
    }

    private SmtpSender sender(JdbcOutbox outbox) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.sender~smarthost");
        p.put("felix.fileinstall.filename", "file:/etc/io.uplink.sender-smarthost.cfg");
        p.put("hosts", "127.0.0.1:" + greenMail.getSmtp().getPort());
        p.put("security", "none");
        return new SmtpSender(outbox, p);
    }

    private static void queue(JdbcOutbox o, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            o.submit(null, List.of(), SendFixture.message("alice@example.org", "bob@example.net", "m" + i, "body " + i)
                    .getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Subject → how many times the server received it. */
    private Map<String, Integer> received() throws Exception {
        Map<String, Integer> out = new TreeMap<>();
        for (MimeMessage m : greenMail.getReceivedMessages()) {
            out.merge(m.getSubject(), 1, Integer::sum);
        }
        return out;
    }

    @Test
    public void everyQueuedMessageReachesTheServerAndLeavesTheQueue() throws Exception {
        JdbcOutbox a = node(fencesA);
        queue(a, 20);
        fencesA.put("test", SessionFence.acquire(pg, database, "test", "f1", "a"));
        SendReport r = sender(a).send(new SendFixture.Context());
        assertEquals(r.errors().toString(), 20, r.sent());
        assertEquals(0, a.size());
        Map<String, Integer> got = received();
        assertEquals(20, got.size());
        assertTrue(got.toString(), got.values().stream().allMatch(n -> n == 1));
    }

    @Test
    public void afterALostFenceTheNextFiringOnAnotherNodeSendsTheRestWithAtMostTheInFlightMessageTwice() throws Exception {
        JdbcOutbox a = node(fencesA);
        JdbcOutbox b = node(fencesB);
        int count = 30;
        queue(a, count);
        SessionFence fa = SessionFence.acquire(pg, database, "test", "f1", "a");
        fencesA.put("test", fa);
        // the node loses its session while the 11th message is claimed and before the server's 250 is recorded
        SendFixture.Context lost = new SendFixture.Context() {
            private boolean killed;

            @Override
            public void progress(String message, int done, int total) {
                super.progress(message, done, total);
                if ("sending".equals(message) && done == 10 && !killed) {
                    killed = true;
                    try {
                        fa.kill();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        };
        SendReport first = sender(a).send(lost);
        assertEquals(first.errors().toString(), 10, first.sent());
        assertTrue(first.errors().toString(), first.errors().stream().anyMatch(e -> e.contains("the next firing sends it")));
        assertEquals("nothing was removed that was not committed", count - 10, b.size());

        fencesB.put("test", SessionFence.acquire(pg, database, "test", "f2", "b"));
        SendReport second = sender(b).send(new SendFixture.Context());
        assertEquals(second.errors().toString(), count - 10, second.sent());
        assertEquals(0, b.size());

        Map<String, Integer> got = received();
        assertEquals("every queued message reached the server", count, got.size());
        long twice = got.values().stream().filter(n -> n > 1).count();
        assertTrue("at most the in-flight message twice: " + got, twice <= 1 && got.values().stream().allMatch(n -> n <= 2));
        assertEquals(count + twice, greenMail.getReceivedMessages().length);
    }
}
