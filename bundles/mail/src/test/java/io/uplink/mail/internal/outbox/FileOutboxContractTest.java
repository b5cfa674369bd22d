package io.uplink.mail.internal.outbox;

/** The outbox contract on files: the single-node store. */
public class FileOutboxContractTest extends OutboxContract {

    @Override
    protected OutboxStore openStore(FileOutbox.Bounces bounces) throws Exception {
        return new FileOutbox(dir().resolve("outbox"), postmaster(), bounces, clock, FileOutbox.Retry.DEFAULT);
    }
}
