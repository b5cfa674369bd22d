package io.uplink.oauth2;

/**
 * Why no access token could be had. The message names the item and says what to do; it never holds a token.
 */
public class OAuth2Exception extends Exception {

    private static final long serialVersionUID = 1L;

    /** What kind of failure, so that the caller can decide between "try again later" and "ask a person". */
    public enum Kind {
        /** No authorization is stored for the account: a person must run {@code oauth:authorize}. */
        NOT_AUTHORIZED,
        /** The provider answered {@code invalid_grant}: consent was revoked or expired. */
        EXPIRED_OR_REVOKED,
        /** The token endpoint could not be reached or answered 5xx: the next firing tries again. */
        UNAVAILABLE,
        /** The provider refused the request for another reason (its error code is in the message). */
        REFUSED
    }

    private final Kind kind;

    public OAuth2Exception(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public OAuth2Exception(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** Whether a person must authorize again (the item goes to ERROR and one notice is sent). */
    public boolean needsAuthorization() {
        return kind == Kind.NOT_AUTHORIZED || kind == Kind.EXPIRED_OR_REVOKED;
    }
}
