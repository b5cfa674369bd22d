package io.uplink.mail.internal.auth;

import java.util.Properties;

import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;

import io.uplink.api.config.Settings;
import io.uplink.oauth2.OAuth2Account;
import io.uplink.oauth2.OAuth2Exception;
import io.uplink.oauth2.OAuth2Tokens;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.MessagingException;

/**
 * How a collector or sender proves who it is: what goes where the password went ({@code auth = password}: the
 * password; {@code auth = oauth2}: an access token, with the SASL mechanism set), and whether a refused login
 * is worth one retry with a fresh token. {@code oauth2.mechanism} picks XOAUTH2 (built into Angus Mail) or
 * OAUTHBEARER ({@link OAuthBearer}: SASL for IMAP and SMTP, {@link Pop3OAuthBearerSocket} for POP3).
 *
 * <p>{@link #configure} must run after the session's socket factories are set: for POP3 with OAUTHBEARER it
 * wraps them.
 */
public abstract class SignIn {

    /** A sign-in failure that happened before any connection: nothing was collected, deleted or sent. */
    public static final class NotSignedIn extends MessagingException {
        private static final long serialVersionUID = 1L;
        private final boolean needsAuthorization;

        NotSignedIn(String message, boolean needsAuthorization) {
            super(message);
            this.needsAuthorization = needsAuthorization;
        }

        /** Whether a person must run {@code oauth:authorize}. */
        public boolean needsAuthorization() {
            return needsAuthorization;
        }
    }

    /** The secret for the next login. */
    public abstract String secret() throws MessagingException;

    /**
     * After the server refused the login with {@code used}: a new secret for one more try, or {@code null} when
     * trying again cannot help (a password).
     */
    public abstract String afterRefusal(String used) throws MessagingException;

    /** The error once the retry was refused too (or right away for a password: the original error). */
    public abstract MessagingException refused(String username, MessagingException e);

    /** Sets the session properties of the mechanism for {@code protocol} ({@code pop3}, {@code imap}, {@code smtp}). */
    public abstract void configure(Properties props, String protocol);

    /**
     * {@code e}, or the server's last reply in its place when {@code e} says only Jakarta Mail's "failed to
     * connect" (Angus SMTP after a failed SASL login, e.g. OAUTHBEARER).
     */
    public static MessagingException withReply(MessagingException e, String lastReply) {
        if (e instanceof AuthenticationFailedException && "failed to connect".equals(e.getMessage())
                && lastReply != null && !lastReply.isBlank()) {
            return new AuthenticationFailedException(lastReply.trim(), e);
        }
        return e;
    }

    /** Whether an exception from connecting or opening the folder is the server refusing this sign-in. */
    public boolean isRefusal(MessagingException e, boolean openingFolder) {
        return e instanceof AuthenticationFailedException;
    }

    /** The item's sign-in: its password, or OAuth2 through {@code tokens} when {@code auth = oauth2}. */
    public static SignIn of(Settings s, String password, OAuth2Account oauth2, OAuth2Tokens tokens) {
        if (oauth2 == null) {
            return password(password);
        }
        return new OAuth2(s, oauth2, tokens);
    }

    /** Reads the item's OAuth2 account, or {@code null} for {@code auth = password}. */
    public static OAuth2Account account(Settings s, OAuth2Account.Use use) {
        return OAuth2Account.isOAuth2(s) ? OAuth2Account.of(s, use) : null;
    }

    public static SignIn password(String password) {
        return new SignIn() {
            @Override
            public String secret() {
                return password;
            }

            @Override
            public String afterRefusal(String used) {
                return null;
            }

            @Override
            public MessagingException refused(String username, MessagingException e) {
                return e;
            }

            @Override
            public void configure(Properties props, String protocol) {
                // the protocol's default mechanisms
            }
        };
    }

    private static final class OAuth2 extends SignIn {
        private final Settings settings;
        private final OAuth2Account account;
        private final OAuth2Tokens tokens;
        private final OAuthBearer.Outcome bearer = new OAuthBearer.Outcome();

        OAuth2(Settings settings, OAuth2Account account, OAuth2Tokens tokens) {
            this.settings = settings;
            this.account = account;
            this.tokens = tokens;
        }

        @Override
        public String secret() throws MessagingException {
            if (tokens == null) {
                throw new NotSignedIn(settings.item() + " (" + settings.file() + ", key 'auth'): auth = oauth2 needs "
                        + "the OAuth2 bundle (feature uplink), which is not running", false);
            }
            try {
                return tokens.accessToken(account);
            } catch (OAuth2Exception e) {
                throw new NotSignedIn(e.getMessage(), e.needsAuthorization());
            }
        }

        @Override
        public String afterRefusal(String used) throws MessagingException {
            bearer.refused(null); // the retry's error challenge, if any, is the one to name
            try {
                return tokens.refreshAfterRefusal(account, used);
            } catch (OAuth2Exception e) {
                throw new NotSignedIn(e.getMessage(), e.needsAuthorization());
            }
        }

        @Override
        public MessagingException refused(String username, MessagingException e) {
            String reply = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().trim();
            String status = bearer.errorStatus();
            return new NotSignedIn(settings.item() + " (" + settings.file()
                    + "): the server refused the OAuth2 token for " + username + ": " + reply
                    + (status == null || reply.contains(status) ? "" : " (" + status + ")"), false);
        }

        @Override
        public boolean isRefusal(MessagingException e, boolean openingFolder) {
            // Angus POP3 returns from connect() after a refused XOAUTH2 and fails only at Folder.open, "Open failed"
            return super.isRefusal(e, openingFolder)
                    || openingFolder && e.getMessage() != null && e.getMessage().contains("Open failed");
        }

        @Override
        public void configure(Properties props, String protocol) {
            String p = "mail." + protocol;
            props.setProperty(p + ".auth", "true");
            if (account.mechanism() == OAuth2Account.Mechanism.XOAUTH2) {
                props.setProperty(p + ".auth.mechanisms", "XOAUTH2");
                props.setProperty(p + ".auth.xoauth2.disable", "false");
            } else if ("pop3".equals(protocol)) {
                // Angus POP3 has no SASL: its XOAUTH2 login, turned into OAUTHBEARER on the socket
                props.setProperty(p + ".auth.mechanisms", "XOAUTH2");
                props.setProperty(p + ".auth.xoauth2.disable", "false");
                props.put(p + ".socketFactory", Pop3OAuthBearerSocket.plain(
                        props.get(p + ".socketFactory") instanceof SocketFactory f ? f : SocketFactory.getDefault(),
                        bearer));
                if (props.get(p + ".ssl.socketFactory") instanceof SSLSocketFactory f) {
                    props.put(p + ".ssl.socketFactory", Pop3OAuthBearerSocket.tls(f, bearer));
                }
            } else {
                // IMAP and SMTP: Angus's SASL login with our RFC 7628 client; no other mechanism as a fallback
                OAuthBearer.register();
                props.setProperty(p + ".sasl.enable", "true");
                props.setProperty(p + ".sasl.mechanisms", OAuthBearer.MECHANISM);
                props.setProperty(p + ".auth.mechanisms", OAuthBearer.MECHANISM);
                props.put(OAuthBearer.OUTCOME, bearer);
            }
        }
    }
}
