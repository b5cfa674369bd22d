package io.uplink.mail.internal.collect;

import java.nio.file.Path;
import java.time.Clock;

import io.uplink.api.mail.CollectReport;

/**
 * Runs one collection in its own JVM, for the tests that kill it or starve its heap:
 * {@code CollectMain <dir> key=value...}. Prints one {@code REPORT} line.
 */
public final class CollectMain {

    private CollectMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String[] kv = new String[(args.length - 1) * 2];
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            kv[(i - 1) * 2] = args[i].substring(0, eq);
            kv[(i - 1) * 2 + 1] = args[i].substring(eq + 1);
        }
        CollectReport r = Fixture.collection(Fixture.settings("child", kv), dir, Clock.systemUTC()).run(new Fixture.Context());
        System.out.println("REPORT collected=" + r.collected() + " skipped=" + r.skipped() + " errors=" + r.errors());
        System.out.println("HEAP max=" + Runtime.getRuntime().maxMemory());
    }

    /** Starts a child JVM running {@link #main}. */
    static Process start(String xmx, Path dir, Path log, String... keyValues) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + xmx);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(CollectMain.class.getName());
        cmd.add(dir.toString());
        java.util.Collections.addAll(cmd, keyValues);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
