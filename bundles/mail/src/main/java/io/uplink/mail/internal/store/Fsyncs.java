package io.uplink.mail.internal.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Forces that run beside the work that needs them, on shared daemon threads: the caller starts one, goes on,
 * and waits for it ({@link #await}) before it relies on what it made durable. On ext4 a directory's fsync is a
 * whole journal commit; several under way at once share a commit, one after the other each wait for their own.
 */
public final class Fsyncs {

    /** Threads that force folders (a new Maildir's, a new ledger file's), shared by everything. */
    private static final ThreadPoolExecutor FOLDERS = pool("uplink-folder-fsync-", 8);

    private Fsyncs() {
    }

    /**
     * Daemon threads that end after a few idle seconds (so a stopped bundle leaves none behind for long); with
     * a bounded size, tasks queue.
     */
    public static ThreadPoolExecutor pool(String name, int size) {
        AtomicInteger n = new AtomicInteger();
        boolean bounded = size != Integer.MAX_VALUE;
        ThreadPoolExecutor p = new ThreadPoolExecutor(bounded ? size : 0, size, 5, TimeUnit.SECONDS,
                bounded ? new LinkedBlockingQueue<>() : new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, name + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        p.allowCoreThreadTimeOut(true);
        return p;
    }

    /** Starts forcing the entries of {@code dir} (see {@link Maildir#force}) on a shared thread. */
    public static Future<?> folderLater(Path dir) {
        return FOLDERS.submit(() -> {
            Maildir.force(dir);
            return null;
        });
    }

    /** Waits for a force started earlier; its failure is thrown, naming {@code what}. */
    public static void await(Future<?> force, String what) throws IOException {
        try {
            force.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while forcing " + what);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io
                    : new IOException("forcing " + what + ": " + e.getCause(), e.getCause());
        }
    }
}
