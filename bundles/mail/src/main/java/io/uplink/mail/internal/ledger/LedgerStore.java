package io.uplink.mail.internal.ledger;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

import io.uplink.api.mail.TaskContext;

/**
 * Where the collectors' ledgers are kept: files on this node ({@link FileLedgers}, the default) or the cluster's
 * PostgreSQL ({@link JdbcLedgers}, when the node runs in a cluster).
 */
public interface LedgerStore {

    /**
     * Opens a collector's ledger for one run, after settling the deliveries an earlier run (on any node) left
     * pending.
     *
     * @param context the firing the run belongs to (in a cluster, its connection's fence guards every write)
     */
    Ledger open(String collectorId, TaskContext context, Instant now, Ledger.Settle settle) throws IOException;

    /** The messages a collector leaves on the server for their size, read while a run may be writing. */
    List<Ledger.Oversized> oversized(String collectorId) throws IOException;
}
