package io.uplink.mail.internal.auth;

import java.nio.charset.StandardCharsets;
import java.security.Provider;
import java.security.Security;
import java.util.Map;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.sasl.SaslClient;
import javax.security.sasl.SaslClientFactory;
import javax.security.sasl.SaslException;

import com.nimbusds.jose.util.JSONObjectUtils;

/**
 * RFC 7628 {@code OAUTHBEARER}: the client's first message and the answer to the server's error challenge.
 *
 * <p>Angus Mail's IMAP and SMTP take a {@code javax.security.sasl} client for a mechanism they do not know
 * ({@code mail.<protocol>.sasl.enable}); the JDK finds SASL client factories only among the JCA security
 * providers, so {@link #register()} adds one provider, {@value #PROVIDER}, once per class loader (as Angus does for
 * its own XOAUTH2 SASL client). POP3 has no SASL in Angus: {@link Pop3OAuthBearerSocket} uses {@link #message}
 * and {@link #errorStatus} there.
 */
public final class OAuthBearer {

    public static final String MECHANISM = "OAUTHBEARER";
    static final String PROVIDER = "Uplink-OAUTHBEARER";

    /** The session property holding the {@link Outcome} a SASL client of that session reports to. */
    static final String OUTCOME = "io.uplink.oauthbearer.outcome";

    /** The single {@code %x01} a client answers an error challenge with (RFC 7628 §3.2.3). */
    static final byte[] ERROR_ANSWER = {1};

    private OAuthBearer() {
    }

    /** What the server said in its error challenge, for the refusal message. */
    public static final class Outcome {
        private volatile String errorStatus;

        void refused(String status) {
            errorStatus = status;
        }

        /** The error challenge's {@code status} (e.g. {@code invalid_token}), or {@code null} if none came. */
        public String errorStatus() {
            return errorStatus;
        }
    }

    /** The client's first message: GS2 header with the authorization identity, then the bearer token. */
    static byte[] message(String username, String token) {
        String gs2 = "n,a=" + username.replace("=", "=3D").replace(",", "=2C") + ",";
        return (gs2 + "\u0001auth=Bearer " + token + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The {@code status} of a server's error challenge (a JSON object, RFC 7628 §3.2.2), or the challenge itself,
     * shortened, when it is not JSON.
     */
    static String errorStatus(byte[] challenge) {
        String text = new String(challenge, StandardCharsets.UTF_8).strip();
        try {
            if (JSONObjectUtils.parse(text).get("status") instanceof String status) {
                return status;
            }
        } catch (java.text.ParseException e) {
            // not JSON: quoted as it came
        }
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    /**
     * Makes {@link Factory} findable by {@code javax.security.sasl.Sasl}. Idempotent; after a bundle refresh the
     * provider of the old class loader is replaced, so the old loader is not kept.
     */
    static synchronized void register() {
        Provider present = Security.getProvider(PROVIDER);
        if (present != null && present.getClass() == SaslProvider.class) {
            return;
        }
        try {
            if (present != null) {
                Security.removeProvider(PROVIDER);
            }
            Security.addProvider(new SaslProvider());
        } catch (SecurityException e) {
            // no permission to add a provider: Angus then reports "No SASL support" and the login fails clearly
        }
    }

    /** The JCA provider: hands out the factory instance itself, so no class is loaded by name. */
    static final class SaslProvider extends Provider {
        private static final long serialVersionUID = 1L;

        SaslProvider() {
            super(PROVIDER, "1.0", "RFC 7628 OAUTHBEARER SASL client");
            putService(new Service(this, "SaslClientFactory", MECHANISM, Factory.class.getName(), null, null) {
                @Override
                public Object newInstance(Object constructorParameter) {
                    return new Factory();
                }
            });
        }
    }

    /** Makes {@link Client}s for {@value #MECHANISM}; the user and token come from Angus's callbacks. */
    static final class Factory implements SaslClientFactory {
        @Override
        public SaslClient createSaslClient(String[] mechanisms, String authorizationId, String protocol,
                String serverName, Map<String, ?> props, CallbackHandler cbh) throws SaslException {
            for (String m : mechanisms) {
                if (MECHANISM.equals(m)) {
                    Object o = props == null ? null : props.get(OUTCOME);
                    return new Client(cbh, o instanceof Outcome outcome ? outcome : new Outcome());
                }
            }
            return null;
        }

        @Override
        public String[] getMechanismNames(Map<String, ?> props) {
            return new String[] {MECHANISM};
        }
    }

    /** One exchange: the first message, then at most the answer to an error challenge. */
    static final class Client implements SaslClient {
        private final CallbackHandler cbh;
        private final Outcome outcome;
        private boolean sent;
        private boolean complete;

        Client(CallbackHandler cbh, Outcome outcome) {
            this.cbh = cbh;
            this.outcome = outcome;
        }

        @Override
        public String getMechanismName() {
            return MECHANISM;
        }

        @Override
        public boolean hasInitialResponse() {
            return true;
        }

        @Override
        public byte[] evaluateChallenge(byte[] challenge) throws SaslException {
            if (!sent) {
                sent = true;
                NameCallback name = new NameCallback("user");
                PasswordCallback token = new PasswordCallback("token", false);
                try {
                    cbh.handle(new Callback[] {name, token});
                } catch (Exception e) {
                    throw new SaslException("OAUTHBEARER: no user or token", e);
                }
                char[] t = token.getPassword();
                if (name.getName() == null || t == null) {
                    throw new SaslException("OAUTHBEARER: no user or token");
                }
                byte[] m = message(name.getName(), new String(t));
                token.clearPassword();
                return m;
            }
            // anything after the first message is the error challenge; the server fails the login after our answer
            outcome.refused(errorStatus(challenge));
            complete = true;
            return ERROR_ANSWER.clone();
        }

        @Override
        public boolean isComplete() {
            return complete;
        }

        @Override
        public byte[] unwrap(byte[] incoming, int offset, int len) {
            throw new IllegalStateException("OAUTHBEARER has no security layer");
        }

        @Override
        public byte[] wrap(byte[] outgoing, int offset, int len) {
            throw new IllegalStateException("OAUTHBEARER has no security layer");
        }

        @Override
        public Object getNegotiatedProperty(String propName) {
            return null;
        }

        @Override
        public void dispose() {
            // nothing held
        }
    }
}
