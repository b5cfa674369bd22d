package io.uplink.mail.internal.deliver;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * The office's mail server that collected mail is handed to: {@code lmtp://host:port} (RFC 2033, one reply
 * per recipient) or {@code smtp://host:port} (one reply for the whole message), as a collector's
 * {@code delivery} key names it.
 */
public record OfficeServer(boolean lmtp, String host, int port) {

    /** Reads {@code lmtp://host:port} or {@code smtp://host[:port]} (port 25 by default); {@code null} when it is neither. */
    public static OfficeServer parse(String value) {
        URI uri;
        try {
            uri = new URI(value.trim());
        } catch (URISyntaxException e) {
            return null;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("lmtp") && !scheme.equals("smtp") || uri.getHost() == null
                || uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/")
                || uri.getUserInfo() != null || uri.getQuery() != null) {
            return null;
        }
        boolean lmtp = scheme.equals("lmtp");
        int port = uri.getPort();
        if (port < 0) {
            if (lmtp) {
                // LMTP has no well-known TCP port (RFC 2033 asks for it not to use 25)
                return null;
            }
            port = 25;
        }
        return new OfficeServer(lmtp, uri.getHost(), port);
    }

    @Override
    public String toString() {
        return (lmtp ? "lmtp://" : "smtp://") + host + ":" + port;
    }
}
