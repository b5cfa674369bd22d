package io.uplink.itests;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

/** What the tests that run the built distribution as a process share: its command line and its log. */
final class DistributionProcess {

    private DistributionProcess() {
    }

    /** Starts {@code bin/karaf daemon} of a Karaf home, its output appended to karaf.out there. */
    static Process karaf(Path home) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/karaf").toString(), "daemon")
                .directory(home.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("karaf.out").toFile()));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start();
    }

    /** Runs {@code bin/uplink args...} of a Karaf home with stdin closed; returns {exit status, output}. */
    static String[] uplink(Path home, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin/uplink").toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(home, "uplink", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(out.toFile());
            pb.environment().remove("TERM");
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("bin/uplink " + String.join(" ", args) + " did not end within 120 s");
            }
            return new String[] {String.valueOf(p.exitValue()), Files.readString(out)};
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** The end of a Karaf home's log, for a failing test's message. */
    static String log(Path home) {
        try {
            Path log = home.resolve("data/log/karaf.log");
            String text = Files.exists(log) ? Files.readString(log) : "";
            return text.length() > 6000 ? text.substring(text.length() - 6000) : text;
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** How many files a folder holds (0 when it does not exist). */
    static int count(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.count();
        }
    }

    /** How often each Subject is in a Maildir folder. */
    static Map<String, Integer> subjects(Path dir) throws Exception {
        Map<String, Integer> out = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                try (InputStream in = Files.newInputStream(p)) {
                    out.merge(new MimeMessage(Session.getInstance(new Properties()), in).getSubject(), 1, Integer::sum);
                }
            }
        }
        return out;
    }
}
