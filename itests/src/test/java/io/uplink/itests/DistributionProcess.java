package io.uplink.itests;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
}
