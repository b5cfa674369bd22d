package io.uplink.web.internal;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;

import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

import org.apache.karaf.jaas.boot.ProxyLoginModule;
import org.apache.karaf.jaas.boot.principal.RolePrincipal;

/** Checks an HTTP Basic {@code Authorization} header against a Karaf JAAS realm and returns the user's roles. */
final class JaasLogin {

    /** A logged-in user. */
    record User(String name, Set<String> roles) {
    }

    private JaasLogin() {
    }

    /** The user, or null when the header is missing, malformed or the login fails. */
    static User login(String realm, String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        int colon = decoded.indexOf(':');
        if (colon <= 0) {
            return null;
        }
        String name = decoded.substring(0, colon);
        char[] password = decoded.substring(colon + 1).toCharArray();
        Subject subject = new Subject();
        Thread t = Thread.currentThread();
        ClassLoader old = t.getContextClassLoader();
        // LoginContext loads Karaf's proxy login module through the context class loader
        t.setContextClassLoader(ProxyLoginModule.class.getClassLoader());
        try {
            LoginContext lc = new LoginContext(realm, subject, callbacks -> {
                for (Callback cb : callbacks) {
                    if (cb instanceof NameCallback n) {
                        n.setName(name);
                    } else if (cb instanceof PasswordCallback p) {
                        p.setPassword(password);
                    } else {
                        throw new UnsupportedCallbackException(cb);
                    }
                }
            });
            lc.login();
        } catch (LoginException e) {
            return null;
        } finally {
            t.setContextClassLoader(old);
            java.util.Arrays.fill(password, '\0');
        }
        Set<String> roles = new TreeSet<>();
        for (RolePrincipal r : subject.getPrincipals(RolePrincipal.class)) {
            roles.add(r.getName());
        }
        return new User(name, roles);
    }
}
