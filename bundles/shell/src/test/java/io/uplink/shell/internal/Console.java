package io.uplink.shell.internal;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.rules.ExternalResource;

/** Captures what a command prints on System.out, as Karaf hands a command its session's stream there. */
public class Console extends ExternalResource {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private PrintStream saved;

    @Override
    protected void before() {
        saved = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    }

    @Override
    protected void after() {
        System.setOut(saved);
    }

    /** Forgets what was printed so far. */
    public void reset() {
        System.out.flush();
        bytes.reset();
    }

    /** Everything printed so far. */
    public String text() {
        System.out.flush();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** The printed lines. */
    public java.util.List<String> lines() {
        return java.util.List.of(text().split("\\R"));
    }
}
