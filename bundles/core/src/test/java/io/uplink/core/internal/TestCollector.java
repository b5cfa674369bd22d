package io.uplink.core.internal;

import io.uplink.api.mail.CollectReport;
import io.uplink.api.mail.MailCollector;
import io.uplink.api.mail.TaskContext;

import java.util.List;
import java.util.Optional;

/**
 * A collector for engine tests: linked to the given connections, collecting nothing (override {@link #collect}
 * for more), with an optional problem.
 */
class TestCollector implements MailCollector {

    private final String id;
    private final List<String> connections;
    private final String problem;

    TestCollector(String id, List<String> connections, String problem) {
        this.id = id;
        this.connections = connections;
        this.problem = problem;
    }

    TestCollector(String id, String... connections) {
        this(id, List.of(connections), null);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<String> connections() {
        return connections;
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public boolean enabled() {
        return true;
    }

    @Override
    public CollectReport collect(TaskContext ctx) throws InterruptedException {
        return new CollectReport(id, 0, 0, problem == null ? List.of() : List.of("broken"));
    }

    @Override
    public Optional<String> problem() {
        return Optional.ofNullable(problem);
    }
}
