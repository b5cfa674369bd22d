package io.uplink.submission.internal;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Completes the library's replies on their way to the client. SubEthaSMTP reads pipelined commands
 * correctly (one buffered reader for commands and DATA) but does not announce PIPELINING, and only some of its
 * replies carry an enhanced status code (RFC 3463). This stream adds {@code PIPELINING} and
 * {@code ENHANCEDSTATUSCODES} to the EHLO reply and a code to every final reply that lacks one (not to the
 * greeting, HELO or EHLO replies, or 3xx, as RFC 2034 says). It changes nothing else.
 */
final class ReplyFilter extends FilterOutputStream {

    private static final Pattern REPLY = Pattern.compile("(\\d{3})([ -])(.*)", Pattern.DOTALL);
    private static final Pattern ENHANCED = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}( .*)?", Pattern.DOTALL);

    private final String heloReply;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    // rewritten lines wait for flush(), so a reply goes out in one write as the library meant it
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream(512);
    private boolean continued;

    ReplyFilter(OutputStream out, String hostName) {
        super(out);
        this.heloReply = "250 " + hostName;
    }

    @Override
    public void write(int b) throws IOException {
        line.write(b);
        if (b == '\n') {
            emit();
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        for (int i = 0; i < len; i++) {
            write(b[off + i]);
        }
    }

    @Override
    public void flush() throws IOException {
        pending.writeTo(out);
        pending.reset();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        pending.write(line.toByteArray());
        line.reset();
        super.close();
    }

    private void emit() throws IOException {
        String l = line.toString(StandardCharsets.ISO_8859_1);
        line.reset();
        pending.write(rewrite(l).getBytes(StandardCharsets.ISO_8859_1));
    }

    /** One reply line (with its CRLF) as it goes out. */
    String rewrite(String l) {
        String body = l.endsWith("\r\n") ? l.substring(0, l.length() - 2) : l.endsWith("\n") ? l.substring(0, l.length() - 1) : l;
        Matcher m = REPLY.matcher(body);
        if (!m.matches()) {
            continued = false;
            return l;
        }
        String code = m.group(1);
        boolean more = m.group(2).equals("-");
        String text = m.group(3);
        boolean wasContinued = continued;
        continued = more;
        if (more || wasContinued) {
            // a multi-line reply: the EHLO reply (the library sends no other)
            if (code.equals("250") && text.equals("8BITMIME")) {
                return "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n" + l;
            }
            return l;
        }
        char c = code.charAt(0);
        if ((c != '2' && c != '4' && c != '5') || code.equals("220") || body.equals(heloReply)
                || ENHANCED.matcher(text).matches()) {
            return l;
        }
        return code + " " + enhanced(code) + " " + text + "\r\n";
    }

    static String enhanced(String code) {
        return switch (code) {
            case "235" -> "2.7.0";
            case "421" -> "4.3.0";
            case "450", "451" -> "4.3.0";
            case "452" -> "4.5.3";
            case "454" -> "4.7.0";
            case "500" -> "5.5.2";
            case "501", "504" -> "5.5.4";
            case "502", "503" -> "5.5.1";
            case "530" -> "5.7.0";
            case "535" -> "5.7.8";
            case "552" -> "5.3.4";
            case "553" -> "5.1.3";
            default -> code.charAt(0) + ".0.0";
        };
    }
}
