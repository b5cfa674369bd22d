package io.uplink.mail.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;

import io.uplink.mail.internal.collect.CollectMain;
import io.uplink.mail.internal.outbox.FileOutbox;
import io.uplink.mail.internal.outbox.Pickup;

/**
 * The durability order itself, which a SIGKILL test cannot see (the page cache survives a killed process):
 * the collecting process runs in a child JVM under strace, and the recorded system calls must show, for
 * every message and each of its two mailboxes, message file fsync → rename into {@code new/} → fsync of
 * {@code new/} → the ledger's S line → ledger fsync → DELE on the socket. For the outbox pickup: the batch
 * file that holds the message was created, its folder forced, the file written and forced before the pickup
 * file is removed.
 *
 * <p>strace (a Debian package; .ci/run installs it) must be there: without it this test fails, it does not
 * skip.
 */
public class DurabilityOrderTest {

    private static final int MESSAGES = 20;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private GreenMail greenMail;

    @After
    public void stop() {
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    public void pop3CollectorForcesFileThenRenameThenFolderThenLedgerBeforeAnyDele() throws Exception {
        greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_POP3));
        greenMail.start();
        GreenMailUser user = greenMail.setUser("office@example.com", "office", "pw");
        for (int i = 0; i < MESSAGES; i++) {
            String m = "From: carol@example.net\r\nTo: alice@office.test\r\nCc: bob@office.test\r\nSubject: order " + i
                    + "\r\nMessage-ID: <order." + i + "@test>\r\n\r\n" + ("line " + i + "\r\n").repeat(40);
            user.deliver(new MimeMessage(Session.getInstance(new java.util.Properties()),
                    new ByteArrayInputStream(m.getBytes(StandardCharsets.US_ASCII))));
        }
        Path dir = tmp.getRoot().toPath().toRealPath();
        Trace t = strace(dir, CollectMain.class, dir.toString(), "connections=office", "protocol=pop3", "host=127.0.0.1",
                "port=" + greenMail.getPop3().getPort(), "security=none", "username=office", "password=pw",
                "route=headers", "domains=office.test");
        assertTrue(t.output, t.output.contains("REPORT collected=" + MESSAGES + " skipped=0 errors=[]"));
        assertEquals("the server is empty", 0, greenMail.getManagers().getImapHostManager().getInbox(user).getMessageCount());

        String ledger = dir.resolve("state/collector-child.uidl").toString();
        List<Call> deles = t.calls(c -> c.isSocketWrite() && c.text().contains("DELE "));
        assertEquals("one DELE per message", MESSAGES, deles.size());
        int firstDele = deles.get(0).start;

        // P uid size unique alice,bob: which unique file belongs to which server message
        Pattern pLine = Pattern.compile("^P (\\S+) \\d+ (\\S+) (\\S+)\\\\n");
        List<Call> intents = t.calls(c -> c.isWrite() && c.path().equals(ledger) && c.text().startsWith("P "));
        assertEquals(MESSAGES, intents.size());
        for (Call intent : intents) {
            Matcher m = pLine.matcher(intent.text());
            assertTrue(intent.line, m.find());
            String uid = m.group(1);
            String unique = m.group(2);
            List<String> boxes = List.of(m.group(3).split(","));
            assertEquals("routed to both", List.of("alice", "bob"), boxes);
            int durableInAll = -1;
            for (String box : boxes) {
                String temp = dir.resolve("mailboxes/" + box + "/tmp/" + unique).toString();
                String fresh = dir.resolve("mailboxes/" + box + "/new").toString();
                Call fsync = t.first(c -> c.isSync() && c.path().equals(temp), 0, "fsync of " + temp);
                Call rename = t.first(c -> c.isRename() && c.renameFrom().equals(temp)
                        && c.renameTo().startsWith(fresh + "/" + unique), 0, "rename of " + temp + " into new/");
                assertTrue("file forced before its rename: " + fsync.line + " / " + rename.line, fsync.end < rename.start);
                Call dirSync = t.first(c -> c.isSync() && c.path().equals(fresh), rename.end, "fsync of " + fresh
                        + " after " + rename.line);
                durableInAll = Math.max(durableInAll, dirSync.end);
            }
            int durable = durableInAll;
            // a batch's S lines are one write, and an S record may follow a T record (the time of the S records
            // after it) in the same write: this uid's line may be any of them
            Call stored = t.first(c -> c.isWrite() && c.path().equals(ledger) && (c.text().startsWith("S " + uid + " ")
                    || c.text().contains("\\nS " + uid + " ")), 0,
                    "the S line of " + uid);
            assertTrue("S line of " + uid + " only after its file is durable in every mailbox", stored.start > durable);
            Call ledgerSync = t.first(c -> c.isSync() && c.path().equals(ledger), stored.end, "ledger fsync after the S line of " + uid);
            assertTrue("ledger forced before the first DELE: " + ledgerSync.line, ledgerSync.end < firstDele);
        }
    }

    @Test
    public void pickupForcesTheBatchHoldingTheFileAndItsNameBeforeRemovingThePickupFile() throws Exception {
        Path dir = tmp.getRoot().toPath().toRealPath();
        Path pickup = dir.resolve("pickup");
        Files.createDirectories(pickup);
        for (int i = 0; i < 3; i++) {
            Files.writeString(pickup.resolve("m" + i + ".eml"), "From: a@example.org\r\nTo: b@example.net\r\nSubject: pickup "
                    + i + "\r\n\r\nhello\r\n");
        }
        Trace t = strace(dir, PickupChild.class, dir.toString());
        assertTrue(t.output, t.output.contains("QUEUED 3"));
        Path intake = dir.resolve("outbox/intake");
        List<Call> removals = t.calls(c -> c.isUnlink() && c.path().startsWith(pickup + "/"));
        assertEquals("each pickup file removed once", 3, removals.size());
        for (Call unlink : removals) {
            String file = unlink.path();
            String subject = "Subject: pickup " + file.charAt(file.length() - 5);
            // the batch file that holds this message (it stays while the message waits in the queue)
            Path batch = null;
            try (java.util.stream.Stream<Path> s = Files.list(intake)) {
                for (Path b : s.filter(b -> b.toString().endsWith(".batch")).toList()) {
                    if (new String(Files.readAllBytes(b), StandardCharsets.ISO_8859_1).contains(subject)) {
                        batch = b;
                    }
                }
            }
            assertTrue("a batch file in " + intake + " holds " + file, batch != null);
            String held = batch.toString();
            Call created = t.first(c -> c.name().startsWith("open") && c.path().equals(held) && c.args().contains("O_CREAT"), -1,
                    "creation of " + held);
            Call named = t.first(c -> c.isSync() && c.path().equals(intake.toString()), created.end,
                    "fsync of " + intake + " after " + held + " was created");
            List<Call> writes = t.calls(c -> c.isWrite() && c.path().equals(held));
            assertTrue("the batch was written", !writes.isEmpty());
            Call lastWrite = writes.get(writes.size() - 1);
            Call forced = t.first(c -> c.isSync() && c.path().equals(held), lastWrite.end, "fsync of " + held + " after its write");
            assertTrue("the batch file's name is durable before " + file + " is removed:\n" + named.line + "\n" + unlink.line,
                    named.end < unlink.start);
            assertTrue("the batch file holding it is forced before " + file + " is removed:\n" + forced.line + "\n"
                    + unlink.line, forced.end < unlink.start);
        }
    }

    /** The child of the pickup case: queues what is in {@code <dir>/pickup} into {@code <dir>/outbox}. */
    public static final class PickupChild {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            FileOutbox outbox = new FileOutbox(dir.resolve("outbox"), dir.resolve("mailboxes/postmaster"), Clock.systemUTC(),
                    FileOutbox.Retry.DEFAULT);
            Pickup pickup = new Pickup(dir.resolve("pickup"), outbox);
            pickup.scan(); // a file is taken once it did not change since the previous look
            System.out.println("QUEUED " + pickup.scan());
        }
    }

    // ------------------------------------------------------------------ strace

    /** One system call: the lines where it started and ended (a call another thread interrupted spans two). */
    record Call(int pid, String name, String args, long result, int start, int end, String line) {
        private static final Pattern FD = Pattern.compile("^\\d+<(.*?)>(?:, |$)");
        private static final Pattern QUOTED = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");

        boolean isSync() {
            return name.equals("fsync") || name.equals("fdatasync");
        }

        boolean isRename() {
            return name.startsWith("rename");
        }

        boolean isUnlink() {
            return name.startsWith("unlink");
        }

        boolean isWrite() {
            return name.equals("write") || name.equals("pwrite64");
        }

        boolean isSocketWrite() {
            return (isWrite() || name.equals("sendto") || name.equals("sendmsg")) && path().startsWith("TCP");
        }

        /** The path (or socket) of the first argument's file descriptor, or the first quoted path. */
        String path() {
            Matcher m = FD.matcher(args);
            if (m.find()) {
                return m.group(1);
            }
            List<String> q = quoted();
            return q.isEmpty() ? "" : q.get(0);
        }

        /** The data of a write: its first quoted string, with strace's escapes as they are. */
        String text() {
            List<String> q = quoted();
            return q.isEmpty() ? "" : q.get(0);
        }

        String renameFrom() {
            return quoted().get(0);
        }

        String renameTo() {
            return quoted().get(1);
        }

        private List<String> quoted() {
            List<String> out = new ArrayList<>();
            Matcher m = QUOTED.matcher(args);
            while (m.find()) {
                out.add(m.group(1));
            }
            return out;
        }
    }

    /** What strace recorded, in the order the calls happened, and what the child printed. */
    static final class Trace {
        final List<Call> calls;
        final String output;

        Trace(List<Call> calls, String output) {
            this.calls = calls;
            this.output = output;
        }

        List<Call> calls(Predicate<Call> p) {
            return calls.stream().filter(p).sorted((a, b) -> Integer.compare(a.start, b.start)).toList();
        }

        /** The first successful call matching {@code p} that starts after line {@code after}. */
        Call first(Predicate<Call> p, int after, String what) {
            for (Call c : calls(p)) {
                if (c.start > after) {
                    return c;
                }
            }
            fail("no " + what + " in the trace (" + calls.size() + " calls recorded)");
            return null;
        }
    }

    private static final Pattern ENTRY = Pattern.compile("^(\\d+)\\s+(\\w+)\\((.*)$");
    private static final Pattern RESUMED = Pattern.compile("^(\\d+)\\s+<\\.\\.\\. (\\w+) resumed>(.*)$");
    /**
     * The result at the end: {@code ) = 0}, padded with spaces on short lines, perhaps followed by an error
     * name; a new file descriptor is followed by its path ({@code -yy}); no quote may follow, so a {@code ) = }
     * inside written data is not taken for it.
     */
    private static final Pattern RESULT = Pattern.compile("\\)\\s+=\\s+(-?\\d+)(?:<[^>\"]*>)?(?:\\s[^\"]*)?$");
    private static final String UNFINISHED = " <unfinished ...>";

    /** Runs {@code main} of {@code mainClass} in a child JVM under strace and reads the trace. */
    static Trace strace(Path dir, Class<?> mainClass, String... args) throws Exception {
        Path strace = Path.of("/usr/bin/strace");
        if (!Files.isExecutable(strace)) {
            fail("strace is needed to record the durability order and is not installed (Debian package 'strace'; "
                    + ".ci/run installs it)");
        }
        Path out = dir.resolve("strace.txt");
        Path log = dir.resolve("child.log");
        List<String> cmd = new ArrayList<>(List.of(strace.toString(), "-f", "-qq", "-yy", "-s", "8192", "-o", out.toString(),
                "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,write,pwrite64,sendto,sendmsg,openat"));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx128m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the traced child did not end within 180 s\n" + Files.readString(log));
        }
        String output = Files.readString(log);
        // kept for a person reading a failure: target/<main class>.strace
        Path target = Path.of("target");
        if (Files.isDirectory(target)) {
            Files.copy(out, target.resolve(mainClass.getSimpleName() + ".strace"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        assertEquals("strace and the child ended normally:\n" + output, 0, p.exitValue());
        return new Trace(parse(Files.readAllLines(out, StandardCharsets.UTF_8)), output);
    }

    /**
     * Reads strace's {@code -f} output: each line starts with the thread id; a call that another thread's call
     * interrupts is printed as {@code name(args <unfinished ...>} and later {@code <... name resumed>rest}.
     * Only calls that succeeded are kept.
     */
    static List<Call> parse(List<String> lines) throws IOException {
        List<Call> calls = new ArrayList<>();
        Map<Integer, Object[]> open = new HashMap<>(); // pid -> {name, args so far, start}
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher r = RESUMED.matcher(line);
            if (r.matches()) {
                int pid = Integer.parseInt(r.group(1));
                Object[] o = open.remove(pid);
                if (o != null && o[0].equals(r.group(2))) {
                    add(calls, pid, (String) o[0], o[1] + r.group(3), (Integer) o[2], i, line);
                }
                continue;
            }
            Matcher e = ENTRY.matcher(line);
            if (!e.matches()) {
                continue; // signals, exits
            }
            int pid = Integer.parseInt(e.group(1));
            String rest = e.group(3);
            if (rest.endsWith(UNFINISHED)) {
                open.put(pid, new Object[] {e.group(2), rest.substring(0, rest.length() - UNFINISHED.length()), i});
            } else {
                add(calls, pid, e.group(2), rest, i, i, line);
            }
        }
        return calls;
    }

    private static void add(List<Call> calls, int pid, String name, String argsAndResult, int start, int end, String line) {
        Matcher m = RESULT.matcher(argsAndResult);
        if (!m.find()) {
            return; // the process ended inside the call
        }
        long result = Long.parseLong(m.group(1));
        if (result >= 0) {
            calls.add(new Call(pid, name, argsAndResult.substring(0, m.start()), result, start, end, line));
        }
    }
}
