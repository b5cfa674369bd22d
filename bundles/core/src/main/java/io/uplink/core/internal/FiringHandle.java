package io.uplink.core.internal;

import io.uplink.api.Firing;
import io.uplink.api.FiringResult;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A requested firing; every request coalesced into the same run shares one handle. */
final class FiringHandle implements Firing {

    private final String id;
    private final String connectionId;
    private final String cause;
    private final List<String> chain;
    private final String node;
    private final CompletableFuture<FiringResult> future = new CompletableFuture<>();
    /** Its own run's result, without the fallback's: complete when its run ends, before any fallback does. */
    private final CompletableFuture<FiringResult> ownEnd = new CompletableFuture<>();

    FiringHandle(String id, String connectionId, String cause, Collection<String> chain) {
        this(id, connectionId, cause, chain, null);
    }

    /** @param node the cluster node that runs it under the connection's fence, {@code null} on a single node */
    FiringHandle(String id, String connectionId, String cause, Collection<String> chain, String node) {
        this.id = id;
        this.connectionId = connectionId;
        this.cause = cause;
        this.chain = List.copyOf(chain);
        this.node = node;
    }

    /** The cluster node that runs this firing for the cluster (under a fence), or {@code null}. */
    String node() {
        return node;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String connectionId() {
        return connectionId;
    }

    String cause() {
        return cause;
    }

    /** Connections already tried in the fallback chain that led here, in order. */
    List<String> chain() {
        return chain;
    }

    @Override
    public CompletionStage<FiringResult> result() {
        return future.minimalCompletionStage();
    }

    @Override
    public boolean isDone() {
        return future.isDone();
    }

    @Override
    public FiringResult await(Duration timeout) throws InterruptedException, TimeoutException {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    void complete(FiringResult r) {
        ownEnd.complete(r);
        future.complete(r);
    }

    /** Its run ended with {@code r}; a fallback it handed over to may still run. */
    void ended(FiringResult r) {
        ownEnd.complete(r);
    }

    /** Completes with its own run's result (see {@link #ended}). */
    CompletableFuture<FiringResult> ownResult() {
        return ownEnd;
    }

    /** This handle ends when {@code other} ends, with its result (a request coalesced into another run). */
    void follow(FiringHandle other) {
        other.future.whenComplete((r, t) -> future.complete(r));
    }

    @Override
    public String toString() {
        return "firing " + id + " of connection '" + connectionId + "'";
    }
}
