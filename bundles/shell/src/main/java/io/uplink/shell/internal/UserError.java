package io.uplink.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.support.CommandException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends a command that failed for an expected reason: a typo in an id, a bad option, a missing file, a FAILED
 * firing. Karaf's shell prints a {@link CommandException} as one "Error executing command: …" line on the
 * user's terminal (bin/uplink still exits 1) and logs it at DEBUG only; any other exception gets an ERROR with
 * a stack trace in karaf.log, which is kept for real bugs.
 */
public final class UserError {

    private static final Logger LOG = LoggerFactory.getLogger("io.uplink.shell");

    private UserError() {
    }

    /** A user error, logged as one WARN line naming the command (no stack trace). */
    public static CommandException of(Object command, String message) {
        LOG.warn("{}: {}", name(command), message);
        return quiet(message);
    }

    /**
     * A failure the log has already seen (a FAILED firing is logged by the engine): nothing more is logged.
     */
    public static CommandException quiet(String message) {
        return new CommandException(message);
    }

    static String name(Object command) {
        Command c = command.getClass().getAnnotation(Command.class);
        return c == null ? command.getClass().getSimpleName() : c.scope() + ":" + c.name();
    }
}
