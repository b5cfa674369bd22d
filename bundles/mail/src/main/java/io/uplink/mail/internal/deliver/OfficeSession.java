package io.uplink.mail.internal.deliver;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.net.io.DotTerminatedMessageWriter;
import org.apache.commons.net.smtp.SMTPClient;
import org.apache.commons.net.smtp.SMTPReply;

/**
 * One connection to the office's mail server over LMTP (RFC 2033) or SMTP, on Apache Commons Net's
 * {@link SMTPClient} (reply parsing, dot-stuffing, CRLF line ends). LMTP differs from SMTP in two places:
 * the greeting command is {@code LHLO}, and after the message's final dot the server answers once per
 * accepted recipient, in the order of the RCPT commands; each of those replies is read here. The message
 * bytes go out unchanged (ISO-8859-1 maps every byte to one char and back).
 */
public final class OfficeSession implements Closeable {

    /** The final reply for one recipient. */
    public record Reply(String recipient, int code, String text) {
        /** 2xx: the office server took responsibility for this copy. */
        public boolean delivered() {
            return SMTPReply.isPositiveCompletion(code);
        }

        /** 5xx: it will never take this copy. */
        public boolean permanent() {
            return SMTPReply.isNegativePermanent(code);
        }
    }

    /** A message's bytes, opened when the DATA command was accepted. */
    @FunctionalInterface
    public interface Body {
        InputStream open() throws IOException;
    }

    /** Commons Net's client, plus writing several commands at once (it has no PIPELINING of its own). */
    private static final class Client extends SMTPClient {
        Client() {
            super(StandardCharsets.ISO_8859_1.name());
        }

        /** Writes commands in one go; Commons Net's own writer is flushed after each of its commands, so empty here. */
        void pipeline(CharSequence commands) throws IOException {
            _output_.write(commands.toString().getBytes(StandardCharsets.ISO_8859_1));
            _output_.flush();
        }

        /** The message after a 354 reply, dot-stuffed and ended with the final dot. */
        void body(InputStream message) throws IOException {
            Writer out = new DotTerminatedMessageWriter(new BufferedWriter(
                    new OutputStreamWriter(_output_, StandardCharsets.ISO_8859_1), 64 * 1024));
            try (Reader in = new InputStreamReader(message, StandardCharsets.ISO_8859_1)) {
                in.transferTo(out);
            }
            out.close(); // writes the final dot and flushes; the connection stays open
        }
    }

    private final OfficeServer server;
    private final Client client;
    /** The server offered PIPELINING (RFC 2920): MAIL, the RCPTs and DATA go out together. */
    private final boolean pipelining;

    private OfficeSession(OfficeServer server, Client client, boolean pipelining) {
        this.server = server;
        this.client = client;
        this.pipelining = pipelining;
    }

    /** Connects and greets; an {@link IOException} when the server cannot be reached or refuses the session. */
    public static OfficeSession open(OfficeServer server, Duration timeout) throws IOException {
        Client c = new Client();
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        c.setConnectTimeout(millis);
        c.setDefaultTimeout(millis);
        try {
            c.connect(server.host(), server.port());
            c.setSoTimeout(millis);
            // each command waits for its reply: without this, Nagle and delayed ACKs cost ~40 ms per message
            c.setTcpNoDelay(true);
            if (!SMTPReply.isPositiveCompletion(c.getReplyCode())) {
                throw new IOException(server + " refused the session: " + reply(c));
            }
            String me = localName();
            int code = c.sendCommand(server.lmtp() ? "LHLO" : "EHLO", me);
            if (!server.lmtp() && !SMTPReply.isPositiveCompletion(code)) {
                code = c.helo(me);
            }
            if (!SMTPReply.isPositiveCompletion(code)) {
                throw new IOException(server + " refused " + (server.lmtp() ? "LHLO" : "EHLO/HELO") + ": " + reply(c));
            }
            boolean pipelining = false;
            for (String line : c.getReplyStrings()) {
                pipelining |= line.length() > 4 && line.substring(4).trim().equalsIgnoreCase("PIPELINING");
            }
            return new OfficeSession(server, c, pipelining);
        } catch (IOException e) {
            disconnect(c);
            throw e;
        }
    }

    /**
     * Hands one message to the server for {@code recipients}. Returns one final reply per recipient, in order.
     * An {@link IOException} means the connection broke and the outcome is unknown for every recipient: the
     * caller must treat none of them as delivered (and close this session).
     */
    public List<Reply> deliver(String from, List<String> recipients, Body message) throws IOException {
        if (pipelining) {
            return deliverPipelined(from, recipients, message);
        }
        Map<String, Reply> replies = new LinkedHashMap<>();
        for (String r : recipients) {
            replies.put(r, null);
        }
        if (!SMTPReply.isPositiveCompletion(client.mail("<" + from + ">"))) {
            Reply refused = new Reply(null, client.getReplyCode(), "sender <" + from + "> refused: " + reply(client));
            client.rset();
            return all(recipients, refused);
        }
        List<String> accepted = new ArrayList<>();
        for (String r : recipients) {
            if (SMTPReply.isPositiveCompletion(client.rcpt("<" + r + ">"))) {
                accepted.add(r);
            } else {
                replies.put(r, new Reply(r, client.getReplyCode(), reply(client)));
            }
        }
        if (accepted.isEmpty()) {
            client.rset();
            return new ArrayList<>(replies.values());
        }
        Writer data = client.sendMessageData();
        if (data == null) {
            Reply refused = new Reply(null, client.getReplyCode(), "DATA refused: " + reply(client));
            client.rset();
            for (String r : accepted) {
                replies.put(r, new Reply(r, refused.code(), refused.text()));
            }
            return new ArrayList<>(replies.values());
        }
        try (Reader in = new InputStreamReader(message.open(), StandardCharsets.ISO_8859_1)) {
            in.transferTo(data);
        }
        data.close(); // the final dot; the connection stays open
        readFinal(accepted, replies);
        return new ArrayList<>(replies.values());
    }

    /**
     * The same transaction with MAIL, RCPT and DATA sent together and their replies read in order (RFC 2920:
     * DATA ends the group, so the body waits for its 354): two round trips per message instead of three or more.
     */
    private List<Reply> deliverPipelined(String from, List<String> recipients, Body message) throws IOException {
        StringBuilder commands = new StringBuilder("MAIL FROM:<").append(from).append(">\r\n");
        for (String r : recipients) {
            commands.append("RCPT TO:<").append(r).append(">\r\n");
        }
        client.pipeline(commands.append("DATA\r\n"));
        int mail = client.getReply();
        String mailText = reply(client);
        Map<String, Reply> replies = new LinkedHashMap<>();
        List<String> accepted = new ArrayList<>();
        for (String r : recipients) {
            int code = client.getReply();
            if (SMTPReply.isPositiveCompletion(mail) && SMTPReply.isPositiveCompletion(code)) {
                accepted.add(r);
                replies.put(r, null);
            } else {
                replies.put(r, new Reply(r, code, reply(client)));
            }
        }
        int data = client.getReply();
        String dataText = reply(client);
        if (SMTPReply.isPositiveIntermediate(data)) {
            if (accepted.isEmpty()) {
                // a server that said 354 with no recipient: end the empty message, nothing is delivered
                client.pipeline(".\r\n");
                client.getReply();
            } else {
                client.body(message.open());
                readFinal(accepted, replies);
                return new ArrayList<>(replies.values());
            }
        }
        client.rset();
        if (!SMTPReply.isPositiveCompletion(mail)) {
            return all(recipients, new Reply(null, mail, "sender <" + from + "> refused: " + mailText));
        }
        for (String r : accepted) {
            replies.put(r, new Reply(r, data, "DATA refused: " + dataText));
        }
        return new ArrayList<>(replies.values());
    }

    /** After the final dot: LMTP answers once per accepted recipient, SMTP once for all. */
    private void readFinal(List<String> accepted, Map<String, Reply> replies) throws IOException {
        if (server.lmtp()) {
            for (String r : accepted) {
                int code = client.getReply();
                replies.put(r, new Reply(r, code, reply(client)));
            }
        } else {
            int code = client.getReply();
            for (String r : accepted) {
                replies.put(r, new Reply(r, code, reply(client)));
            }
        }
    }

    private static List<Reply> all(List<String> recipients, Reply reply) {
        List<Reply> out = new ArrayList<>(recipients.size());
        for (String r : recipients) {
            out.add(new Reply(r, reply.code(), reply.text()));
        }
        return out;
    }

    private static String reply(SMTPClient c) {
        String s = c.getReplyString();
        return s == null ? "(no reply)" : s.trim().replaceAll("\\s*\\r?\\n\\s*", " ");
    }

    private static String localName() {
        try {
            return InetAddress.getLocalHost().getCanonicalHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    @Override
    public void close() {
        try {
            client.quit();
        } catch (IOException e) {
            // closing anyway
        }
        disconnect(client);
    }

    private static void disconnect(SMTPClient c) {
        try {
            c.disconnect();
        } catch (IOException e) {
            // nothing left to do
        }
    }

    @Override
    public String toString() {
        return server.toString();
    }
}
