package io.uplink.mail.internal.outbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The raw header block of an RFC 5322 message, kept as bytes so that a message can be rewritten (Bcc
 * stripped) without touching a single other byte.
 */
final class HeaderBlock {

    /** Header blocks beyond this are not mail. */
    static final int MAX_HEADER_BYTES = 1024 * 1024;

    /** One field: its name and its raw bytes, folding and line end included. */
    record Field(String name, byte[] raw) {
        /** The unfolded value, decoded as UTF-8 (RFC 6532 allows raw UTF-8). */
        String value() {
            String s = new String(raw, StandardCharsets.UTF_8);
            int colon = s.indexOf(':');
            return s.substring(colon + 1).replaceAll("\r?\n[ \t]", " ").replaceAll("\r?\n$", "").trim();
        }
    }

    private final List<Field> fields;
    private final byte[] rest;

    private HeaderBlock(List<Field> fields, byte[] rest) {
        this.fields = fields;
        this.rest = rest;
    }

    /**
     * Reads the header block; {@code in} is left just after the blank line ending it.
     *
     * @throws MalformedMessageException when it is not a header block
     */
    static HeaderBlock read(InputStream in) throws IOException, MalformedMessageException {
        List<Field> fields = new ArrayList<>();
        ByteArrayOutputStream current = null;
        String currentName = null;
        int total = 0;
        while (true) {
            byte[] line = readLine(in);
            if (line == null || isBlank(line)) {
                if (current != null) {
                    fields.add(new Field(currentName, current.toByteArray()));
                }
                if (fields.isEmpty()) {
                    throw new MalformedMessageException(line == null ? "the file is empty" : "it has no header fields");
                }
                return new HeaderBlock(fields, line == null ? new byte[0] : line);
            }
            total += line.length;
            if (total > MAX_HEADER_BYTES) {
                throw new MalformedMessageException("its header is larger than " + MAX_HEADER_BYTES + " bytes");
            }
            if (line[0] == ' ' || line[0] == '\t') {
                if (current == null) {
                    throw new MalformedMessageException("it starts with a continuation line, not a header field");
                }
                current.write(line);
                continue;
            }
            if (current != null) {
                fields.add(new Field(currentName, current.toByteArray()));
            }
            currentName = fieldName(line);
            if (currentName == null) {
                throw new MalformedMessageException("line " + (fields.size() + 1) + " is not a header field: '"
                        + printable(line) + "'");
            }
            current = new ByteArrayOutputStream();
            current.write(line);
        }
    }

    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(80);
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            if (c == '\n') {
                break;
            }
            if (b.size() > MAX_HEADER_BYTES) {
                break;
            }
        }
        return b.size() == 0 ? null : b.toByteArray();
    }

    private static boolean isBlank(byte[] line) {
        return (line.length == 1 && line[0] == '\n') || (line.length == 2 && line[0] == '\r' && line[1] == '\n');
    }

    private static String fieldName(byte[] line) {
        for (int i = 0; i < line.length; i++) {
            byte b = line[i];
            if (b == ':') {
                return i == 0 ? null : new String(line, 0, i, StandardCharsets.US_ASCII).trim();
            }
            // RFC 5322 field names are printable US-ASCII except ':'; some writers put blanks before ':'
            if (b < 33 || b > 126) {
                if (b == ' ' || b == '\t') {
                    continue;
                }
                return null;
            }
        }
        return null;
    }

    private static String printable(byte[] line) {
        String s = new String(line, 0, Math.min(line.length, 60), StandardCharsets.ISO_8859_1);
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }

    List<Field> fields() {
        return fields;
    }

    /** The values of every field with this name, in order. */
    List<String> values(String name) {
        List<String> out = new ArrayList<>();
        for (Field f : fields) {
            if (f.name().equalsIgnoreCase(name)) {
                out.add(f.value());
            }
        }
        return out;
    }

    /** The first value, or {@code null}. */
    String value(String name) {
        List<String> v = values(name);
        return v.isEmpty() ? null : v.get(0);
    }

    boolean has(String name) {
        return value(name) != null;
    }

    /** Whether the message is marked urgent. */
    boolean urgent() {
        String xp = value("X-Priority");
        if (xp != null && xp.trim().startsWith("1")) {
            return true;
        }
        String imp = value("Importance");
        if (imp != null && imp.trim().toLowerCase(Locale.ROOT).startsWith("high")) {
            return true;
        }
        String pr = value("Priority");
        return pr != null && pr.trim().toLowerCase(Locale.ROOT).startsWith("urgent");
    }

    /** The header bytes without the fields named, then the blank line. */
    byte[] without(String name) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Field f : fields) {
            if (!f.name().equalsIgnoreCase(name)) {
                b.writeBytes(f.raw());
            }
        }
        b.writeBytes(rest);
        return b.toByteArray();
    }

    /** The header bytes as read, blank line included. */
    byte[] bytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Field f : fields) {
            b.writeBytes(f.raw());
        }
        b.writeBytes(rest);
        return b.toByteArray();
    }

    /** Not an RFC 5322 message; the message says why. */
    static final class MalformedMessageException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedMessageException(String message) {
            super(message);
        }
    }
}
