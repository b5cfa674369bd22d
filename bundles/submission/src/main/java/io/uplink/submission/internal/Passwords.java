package io.uplink.submission.internal;

import java.util.Set;

/** Checks a user's password; Karaf's JAAS realm in the running system ({@link JaasPasswords}). */
@FunctionalInterface
interface Passwords {

    /** The user's roles, or {@code null} when the name or password is wrong. */
    Set<String> roles(String user, char[] password);
}
