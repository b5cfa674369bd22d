package io.uplink.mail.internal.ledger;

import java.nio.file.Path;
import java.time.Instant;

/** The ledger contract against the file store. */
public class UidLedgerContractTest extends LedgerContract {

    @Override
    protected Ledger open(Instant now, Ledger.Settle settle) throws Exception {
        Path file = tmp.getRoot().toPath().resolve("state/collector-alice.uidl");
        return FileLedgers.at(file).open("alice", null, now, settle);
    }

    /** What a kill leaves: the lines written so far (the page cache keeps them), no close, no force. */
    @Override
    protected void crash(Ledger ledger) {
        // the journal's channel is simply abandoned, as the dying process abandons it
    }
}
