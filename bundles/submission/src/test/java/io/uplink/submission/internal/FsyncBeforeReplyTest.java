package io.uplink.submission.internal;

import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Under strace (Debian's strace): the listener, in a child JVM outside OSGi, writes the message's group into a
 * batch file and syncs that file (fdatasync) before it writes the 250 for that message to the socket.
 */
public class FsyncBeforeReplyTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void batchFileIsForcedBeforeThe250IsWritten() throws Exception {
        assumeTrue("strace is installed (.ci/run installs it)", new File("/usr/bin/strace").canExecute());
        Path trace = tmp.getRoot().toPath().resolve("strace.txt");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder("/usr/bin/strace", "-f", "-y", "-s", "80", "-e", "trace=fsync,fdatasync,write,pwrite64",
                "-o", trace.toString(), java.toString(), "-cp", System.getProperty("java.class.path"),
                SubmissionMain.class.getName(), "serve", tmp.newFolder("data").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertTrue("child said " + first, first != null && first.startsWith("PORT "));
            int port = Integer.parseInt(first.substring(5).trim());
            String reply = submit(port);
            assertTrue(reply, reply.startsWith("250 2.0.0 Ok: queued as "));
        } finally {
            child.getOutputStream().close();
            if (!child.waitFor(60, TimeUnit.SECONDS)) {
                child.destroyForcibly();
                child.waitFor(60, TimeUnit.SECONDS);
            }
        }
        List<String> lines = Files.readAllLines(trace, StandardCharsets.ISO_8859_1);
        // the write of the group (a record starts with the magic "UPL1"; spares are written with zeros), then the
        // sync of that same batch file, then the 250
        Pattern groupWrite = Pattern.compile("^\\d+ +p?write(64)?\\(\\d+<([^>]*\\.batch)>, \"UPL1");
        int written = -1;
        int synced = -1;
        int replied = -1;
        String batch = null;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            Matcher w = groupWrite.matcher(l);
            if (written < 0 && w.find()) {
                written = i;
                batch = w.group(2);
                continue;
            }
            if (written >= 0 && synced < 0) {
                Matcher m = Pattern.compile("^(\\d+) +f(data)?sync\\(\\d+<" + Pattern.quote(batch) + ">(.*)$").matcher(l);
                if (m.find()) {
                    if (m.group(3).matches("\\) += 0$")) {
                        synced = i;
                    } else if (m.group(3).contains("<unfinished ...>")) {
                        for (int j = i + 1; j < lines.size(); j++) {
                            if (lines.get(j).matches("^" + m.group(1) + " +<\\.\\.\\. f(data)?sync resumed>.*= 0$")) {
                                synced = j;
                                break;
                            }
                        }
                    }
                }
            }
            if (replied < 0 && l.contains("write(") && (l.contains("<socket:[") || l.contains("<TCP")) && l.contains("250 2.0.0 Ok: queued as")) {
                replied = i;
            }
        }
        String excerpt = String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        assertTrue("no write of a group into a batch file in the trace:\n" + excerpt, written >= 0);
        assertTrue("no sync of " + batch + " after the group's write in the trace:\n" + excerpt, synced >= 0);
        assertTrue("no 250 written to the socket in the trace:\n" + excerpt, replied >= 0);
        assertTrue("the 250 (line " + replied + ") was written before the batch file holding the message was synced (line "
                + synced + "):\n" + excerpt, synced < replied);
    }

    private static String submit(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            String r = line(in);
            for (String c : new String[] {"EHLO trace.test", "MAIL FROM:<a@office.test>", "RCPT TO:<b@example.com>", "DATA",
                    "From: a@office.test\r\nTo: b@example.com\r\nSubject: traced\r\n\r\nhello\r\n."}) {
                out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                r = line(in);
            }
            return r;
        }
    }

    private static String line(BufferedReader in) throws IOException {
        String l;
        while ((l = in.readLine()) != null && l.length() > 3 && l.charAt(3) == '-') {
            // continuation lines
        }
        return l == null ? "" : l;
    }
}
