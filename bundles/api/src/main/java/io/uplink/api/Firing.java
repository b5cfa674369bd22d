package io.uplink.api;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * A handle on a firing that was requested. {@link ConnectionService#fire(String)} returns at once; the
 * handle completes when the firing ends. Requests coalesced into one run share one handle.
 */
public interface Firing {

    /** The firing's unique id. */
    String id();

    /** The connection it fires. */
    String connectionId();

    /** Completes with the result when the firing ends; never completes exceptionally. */
    CompletionStage<FiringResult> result();

    /** Whether the firing has ended. */
    boolean isDone();

    /**
     * Waits for the firing to end.
     *
     * @throws TimeoutException when it has not ended within {@code timeout}
     */
    FiringResult await(Duration timeout) throws InterruptedException, TimeoutException;
}
