package io.uplink.itests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Lock-step SMTP lines for the submission tests: one command out, its (last) reply line back. */
final class SmtpDialog {

    private SmtpDialog() {
    }

    static String send(OutputStream out, BufferedReader in, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return reply(in);
    }

    /** The last line of a reply; an IOException when the server closed the connection. */
    static String reply(BufferedReader in) throws IOException {
        String l;
        while ((l = in.readLine()) != null && l.length() > 3 && l.charAt(3) == '-') {
            // continuation lines
        }
        if (l == null) {
            throw new IOException("connection closed");
        }
        return l;
    }
}
