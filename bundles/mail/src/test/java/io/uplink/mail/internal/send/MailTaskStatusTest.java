package io.uplink.mail.internal.send;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.uplink.api.mail.MailTaskState;
import io.uplink.api.mail.MailTaskStatus;
import io.uplink.mail.internal.collect.CollectorStatusProbe;

import io.uplink.oauth2.internal.TokenService;

import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Senders and collectors are checked when their configuration arrives, and say so in their status. */
public class MailTaskStatusTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void aBadSenderIsInErrorBeforeAnyFiringNamingFileAndKey() throws Exception {
        SendFixture f = new SendFixture(tmp.getRoot().toPath());
        SmtpSender bad = f.sender("smarthost", "hosts", "smtp.example.net", "security", "nonee", "password", "hunter2",
                "username", "u");
        MailTaskStatus s = bad.status();
        assertEquals(MailTaskState.ERROR, s.state());
        assertEquals("sender 'smarthost' (io.uplink.sender-smarthost.cfg), key 'security': must be one of none, tls, "
                + "starttls, starttls-if-available, got 'nonee'", s.error());
        assertEquals(s.error(), bad.problem().orElseThrow());
        assertEquals("********", s.settings().get("password"));
        assertNull("it never ran", s.lastRun());

        bad.send(new SendFixture.Context());
        MailTaskStatus after = bad.status();
        assertEquals(MailTaskState.ERROR, after.state());
        assertEquals("0 sent", after.lastResult());
        assertEquals(s.error(), after.lastError());
    }

    @Test
    public void aGoodSenderIsReadyAndWarnsOfAMisspeltKey() throws Exception {
        SendFixture f = new SendFixture(tmp.getRoot().toPath());
        SmtpSender good = f.sender("relay", "hosts", "127.0.0.1:25", "security", "none", "smallerFrist", "true");
        MailTaskStatus s = good.status();
        assertEquals(MailTaskState.READY, s.state());
        assertEquals("", s.error());
        assertTrue(good.problem().isEmpty());
        assertEquals("smtp://127.0.0.1:25 (none)", s.server());
        assertEquals(List.of("unknown key 'smallerFrist' in io.uplink.sender-relay.cfg; did you mean 'smallerFirst'?"),
                s.warnings());
    }

    @Test
    public void anOAuth2SenderNotYetAuthorizedIsInErrorWithTheAdvice() throws Exception {
        SendFixture f = new SendFixture(tmp.getRoot().toPath());
        SmtpSender m365 = f.sender("m365", "hosts", "smtp.office365.com:587", "security", "starttls",
                "username", "office@contoso.example", "auth", "oauth2", "oauth2.provider", "microsoft",
                "oauth2.clientId", "0d1f3b6e-client");
        assertEquals("no token service: the configuration alone decides", MailTaskState.READY, m365.status().state());
        TokenService tokens = new TokenService();
        tokens.configure(Map.of("secrets.dir", tmp.newFolder("secrets").toString()));
        m365.tokens = tokens;
        MailTaskStatus s = m365.status();
        assertEquals(MailTaskState.ERROR, s.state());
        assertEquals("sender 'm365' (io.uplink.sender-m365.cfg): not authorized: run oauth:authorize m365", s.error());
        assertTrue("the configuration itself is fine: it may fire (and fail with the same advice)",
                m365.problem().isEmpty());
    }

    @Test
    public void booleansAreStrict() throws Exception {
        SendFixture f = new SendFixture(tmp.getRoot().toPath());
        MailTaskStatus s = f.sender("relay", "hosts", "127.0.0.1:25", "security", "none", "smallerFirst", "yes").status();
        assertEquals(MailTaskState.ERROR, s.state());
        assertTrue(s.error(), s.error().endsWith("key 'smallerFirst': must be true or false, got 'yes'"));
    }

    @Test
    public void aBadCollectorIsInErrorBeforeAnyFiring() {
        MailTaskStatus s = CollectorStatusProbe.status("alice", "connections", "office, modem", "protocol", "pop",
                "host", "pop.example.net", "username", "alice", "deliverTo", "alice", "timout", "5s");
        assertEquals(MailTaskState.ERROR, s.state());
        assertEquals("collector 'alice' (io.uplink.collector-alice.cfg), key 'protocol': must be one of pop3, imap, got 'pop'",
                s.error());
        assertEquals(List.of("office", "modem"), s.connections());
        assertEquals(List.of("unknown key 'timout' in io.uplink.collector-alice.cfg; did you mean 'timeout'?"), s.warnings());

        MailTaskStatus off = CollectorStatusProbe.status("bob", "connections", "office", "host", "pop.example.net",
                "username", "bob", "password", "pw", "deliverTo", "bob", "enabled", "false");
        assertEquals(MailTaskState.DISABLED, off.state());
        assertEquals("pop3://pop.example.net:995 (tls)", off.server());
    }
}
