package io.uplink.mail.internal.auth;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;

import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslClient;

import org.junit.Test;

/**
 * The hand-written parts of RFC 7628: the GS2 message, the error challenge, the POP3 capability as Angus sees it,
 * and that the JDK's {@code Sasl} finds the client (as Angus's IMAP and SMTP ask for it). The exchanges with a
 * real server are in OAuth2CollectTest and OAuth2SendTest.
 */
public class OAuthBearerTest {

    @Test
    public void theFirstMessageIsTheGs2HeaderAndTheBearerToken() {
        assertEquals("n,a=a=3Db=2Cc@example.test,\u0001auth=Bearer t0k\u0001\u0001",
                new String(OAuthBearer.message("a=b,c@example.test", "t0k"), StandardCharsets.UTF_8));
    }

    @Test
    public void theErrorChallengeGivesItsStatusAndIsAnsweredWithOneControlA() throws Exception {
        OAuthBearer.register();
        OAuthBearer.register(); // idempotent
        OAuthBearer.Outcome outcome = new OAuthBearer.Outcome();
        SaslClient c = Sasl.createSaslClient(new String[] {"OAUTHBEARER"}, null, "imap", "mail.example.test",
                java.util.Map.of(OAuthBearer.OUTCOME, outcome), callbacks -> {
                    ((NameCallback) callbacks[0]).setName("alice@example.test");
                    ((PasswordCallback) callbacks[1]).setPassword("tok".toCharArray());
                });
        assertTrue(c.hasInitialResponse());
        assertEquals("n,a=alice@example.test,\u0001auth=Bearer tok\u0001\u0001",
                new String(c.evaluateChallenge(new byte[0]), StandardCharsets.UTF_8));
        assertNull(outcome.errorStatus());
        byte[] answer = c.evaluateChallenge("{\"status\":\"invalid_token\",\"schemes\":\"bearer\",\"scope\":\"mail\"}"
                .getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(new byte[] {1}, answer);
        assertTrue(c.isComplete());
        assertEquals("invalid_token", outcome.errorStatus());
        assertEquals("not json", OAuthBearer.errorStatus("not json".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    public void pop3ShowsOauthbearerAsXoauth2AndHidesARealXoauth2() {
        assertEquals("SASL PLAIN XOAUTH2\r\n", Pop3OAuthBearerSocket.capability("SASL PLAIN XOAUTH2 OAUTHBEARER\r\n"));
        assertEquals("SASL PLAIN\r\n", Pop3OAuthBearerSocket.capability("SASL PLAIN XOAUTH2\r\n"));
    }
}
