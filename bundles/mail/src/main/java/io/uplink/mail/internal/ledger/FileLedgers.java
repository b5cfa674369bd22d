package io.uplink.mail.internal.ledger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

import io.uplink.api.mail.TaskContext;

/** The single-node store: one {@link UidLedger} journal file per collector. */
public final class FileLedgers implements LedgerStore {

    /** What a collector id may not carry into a file name. */
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

    private final Function<String, Path> fileOf;

    private FileLedgers(Function<String, Path> fileOf) {
        this.fileOf = fileOf;
    }

    /** The ledgers in {@code state/}, as {@code collector-<id>.uidl}. */
    public static FileLedgers in(Path state) {
        return new FileLedgers(id -> state.resolve("collector-" + UNSAFE.matcher(id).replaceAll("_") + ".uidl"));
    }

    /** One ledger file, whatever the collector (for a collection run on its own). */
    public static FileLedgers at(Path file) {
        return new FileLedgers(id -> file);
    }

    @Override
    public Ledger open(String collectorId, TaskContext context, Instant now, Ledger.Settle settle) throws IOException {
        Path file = fileOf.apply(collectorId);
        if (!Files.isDirectory(file.getParent())) {
            Files.createDirectories(file.getParent());
        }
        return UidLedger.open(file, now, settle);
    }

    @Override
    public List<Ledger.Oversized> oversized(String collectorId) throws IOException {
        return UidLedger.readOversized(fileOf.apply(collectorId));
    }
}
