package io.uplink.shell.internal.connection;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.Firing;
import io.uplink.api.FiringResult;
import io.uplink.api.NoSuchConnectionException;
import io.uplink.api.Outcome;
import io.uplink.api.Progress;
import io.uplink.api.config.Settings;
import io.uplink.shell.internal.Format;
import io.uplink.shell.internal.UserError;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "connection", name = "fire",
        description = "Fires connections and returns at once, printing the firing ids. With --wait, shows progress and"
                + " ends with one line per firing: <id> <OK|PARTIAL|FAILED> <seconds>s <summary>; the command fails"
                + " (non-zero exit status through bin/uplink) when a firing FAILED and no fallback firing made up for it.")
@Service
public class FireCommand implements Action {

    @Argument(index = 0, name = "ids", description = "The connections to fire", multiValued = true)
    @Completion(ConnectionIdCompleter.class)
    List<String> ids;

    @Option(name = "--defaults", aliases = "-d", description = "Fire every connection marked default = true, one after the other")
    boolean defaults;

    @Option(name = "--wait", aliases = "-w", description = "Wait for the firings to end, show their progress and results")
    boolean await;

    @Option(name = "--timeout", aliases = "-t", description = "With --wait: stop waiting after this long (30s, 5m, 1h); the firings go on")
    String timeout;

    @Reference
    ConnectionService connections;

    /** How often --wait looks at the progress of the running firings. */
    Duration poll = Duration.ofMillis(250);

    /** Measures --timeout. */
    Clock clock = Clock.systemUTC();

    @Override
    public Object execute() throws Exception {
        List<String> wanted = ids == null ? List.of() : ids;
        if (!defaults && wanted.isEmpty()) {
            throw UserError.of(this, "name the connections to fire, or use --defaults");
        }
        Duration limit = null;
        if (timeout != null) {
            try {
                limit = Settings.parseDuration(timeout);
            } catch (RuntimeException e) {
                limit = null; // a number too large for a duration
            }
            if (limit == null || limit.isZero()) {
                throw UserError.of(this, "--timeout must be a duration such as 30s, 5m or 1h, got '" + timeout + "'");
            }
        }
        // Check every id before firing any, so a typo fires nothing.
        for (String id : wanted) {
            if (connections.status(id).isEmpty()) {
                throw UserError.of(this, new NoSuchConnectionException(id).getMessage());
            }
        }
        PrintStream out = System.out;
        List<Firing> firings = new ArrayList<>();
        if (defaults) {
            List<Firing> fired = connections.fireDefaults("shell");
            if (fired.isEmpty()) {
                out.println("no connection is marked default = true");
            }
            firings.addAll(fired);
        }
        for (String id : wanted) {
            firings.add(connections.fire(id, "shell"));
        }
        // Requests coalesced into one run share one handle: show and wait for each run once.
        Map<String, Firing> runs = new LinkedHashMap<>();
        for (Firing f : firings) {
            runs.putIfAbsent(f.id(), f);
        }
        for (Firing f : runs.values()) {
            out.println("fired " + f.connectionId() + " as " + f.id());
        }
        out.flush();
        if (!await || runs.isEmpty()) {
            return null;
        }
        List<FiringResult> results = waitFor(new ArrayList<>(runs.values()), out, limit);
        List<String> failed = new ArrayList<>();
        for (FiringResult r : results) {
            out.println(Format.resultLine(r));
            FiringResult last = r;
            for (FiringResult fb = r.fallback(); fb != null; fb = fb.fallback()) {
                out.println(Format.resultLine(fb) + " (fallback for " + last.connectionId() + ")");
                last = fb;
            }
            // A fallback that got through makes up for the connection that could not connect.
            if (last.outcome() == Outcome.FAILED) {
                failed.add(r.connectionId());
            }
        }
        out.flush();
        if (!failed.isEmpty()) {
            // the engine has logged each FAILED firing: the terminal gets the verdict, the log nothing more
            throw UserError.quiet(failed.size() == 1 && results.size() == 1
                    ? "the firing of connection '" + failed.get(0) + "' FAILED"
                    : failed.size() + " of " + results.size() + " firings FAILED: " + String.join(", ", failed));
        }
        return null;
    }

    private List<FiringResult> waitFor(List<Firing> runs, PrintStream out, Duration limit) throws Exception {
        Instant deadline = limit == null ? null : clock.instant().plus(limit);
        Map<String, String> shown = new HashMap<>();
        List<FiringResult> results = new ArrayList<>();
        for (Firing f : runs) {
            while (true) {
                try {
                    results.add(f.await(poll));
                    break;
                } catch (TimeoutException e) {
                    showProgress(runs, shown, out);
                    if (deadline != null && !clock.instant().isBefore(deadline)) {
                        List<String> running = new ArrayList<>();
                        for (Firing r : runs) {
                            if (!r.isDone()) {
                                running.add(r.connectionId());
                            }
                        }
                        throw UserError.of(this, "still firing after " + timeout + ": " + String.join(", ", running)
                                + " (the firings go on; see connection:status)");
                    }
                } catch (InterruptedException e) {
                    // Ctrl-C or a closed session: the user's choice, not a bug to log with a stack trace
                    Thread.currentThread().interrupt();
                    throw UserError.quiet("stopped waiting; the firings go on (see connection:status)");
                }
            }
        }
        return results;
    }

    /** Prints a line for each running firing whose phase or message changed since the last look. */
    private void showProgress(List<Firing> runs, Map<String, String> shown, PrintStream out) {
        for (Firing f : runs) {
            if (f.isDone()) {
                continue;
            }
            Optional<ConnectionStatus> status = connections.status(f.connectionId());
            if (status.isEmpty()) {
                continue;
            }
            String text = progressText(f, status.get());
            if (text != null && !text.equals(shown.put(f.id(), text))) {
                out.println(f.connectionId() + " " + text);
                out.flush();
            }
        }
    }

    static String progressText(Firing f, ConnectionStatus status) {
        Progress p = status.progress();
        if (status.state() == ConnectionState.QUEUED) {
            return "QUEUED waiting for its turn";
        }
        if (status.state() == ConnectionState.REMOTE) {
            // in a cluster: its phases show on the node that runs it
            return "REMOTE " + status.reason();
        }
        if (p == null) {
            return null;
        }
        if (!f.id().equals(p.firingId())) {
            return "waiting for the running firing " + p.firingId() + " to end";
        }
        // Counts alone change too often to be worth a line; phase and message changes are.
        return p.message() == null || p.message().isBlank() ? p.phase().name() : p.phase() + " " + p.message();
    }
}
