package io.uplink.shell.internal;

import org.apache.karaf.shell.api.console.CommandLine;

/** A command line whose cursor is at the end of one typed argument, for completer tests. */
public final class TestCommandLine implements CommandLine {

    private final String typed;

    public TestCommandLine(String typed) {
        this.typed = typed;
    }

    @Override
    public int getCursorArgumentIndex() {
        return 1;
    }

    @Override
    public String getCursorArgument() {
        return typed;
    }

    @Override
    public int getArgumentPosition() {
        return typed.length();
    }

    @Override
    public String[] getArguments() {
        return new String[] {"status", typed};
    }

    @Override
    public int getBufferPosition() {
        return getBuffer().length();
    }

    @Override
    public String getBuffer() {
        return "status " + typed;
    }
}
