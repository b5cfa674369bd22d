package io.uplink.mail.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Writes bytes a few at a time on a fixed tick, as a hostile or very slow server does; the scripted test
 * servers use it to drip a greeting, a reply or a message.
 */
public final class PacedWriter implements AutoCloseable {

    private final ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "paced-writer");
        t.setDaemon(true);
        return t;
    });

    /** Writes {@code data}, {@code perTick} bytes every {@code tickMillis}; returns when done, fails when the peer left. */
    public void write(OutputStream out, byte[] data, int perTick, long tickMillis) throws IOException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        int[] pos = {0};
        ScheduledFuture<?> f = ticks.scheduleAtFixedRate(() -> {
            try {
                int n = Math.min(perTick, data.length - pos[0]);
                out.write(data, pos[0], n);
                out.flush();
                pos[0] += n;
                if (pos[0] >= data.length) {
                    done.complete(null);
                }
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        }, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } finally {
            f.cancel(false);
        }
    }

    @Override
    public void close() {
        ticks.shutdownNow();
    }
}
