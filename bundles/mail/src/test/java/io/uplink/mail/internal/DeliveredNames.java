package io.uplink.mail.internal;

import java.util.Random;

/**
 * File names for messages a benchmark writes straight into a Maildir that Dovecot serves, in the shape Dovecot's
 * own delivery gives them: {@code <seconds>.M<microseconds>P<pid>.<host>}, optionally with {@code ,S=<size>} and
 * {@code ,W=<size with CRLF>}. The seconds count up one per message (so every name is unique); the microseconds
 * and the process id vary as those of a delivering server do.
 *
 * <p>Names that differ only in one counter, such as {@code <t+i>.M<i>P1.bench}, collide in the hash Dovecot's
 * Maildir keeps of its file names (the PJW hash of the name up to ':'): 2,000 such names fall into 1,002 buckets,
 * 100,000 into 91,000 with chains of 5,400, and every scan of the folder then costs the server several times
 * what it costs for mail it delivered itself. Benchmarks measure what a real mailbox costs, so they name files
 * as a real server would.
 */
public final class DeliveredNames {

    private static final long START = 1_700_000_000L;

    private final Random random;

    /** Names seeded by {@code seed}: the same seed gives the same names. */
    public DeliveredNames(long seed) {
        this.random = new Random(seed);
    }

    /** The name of the {@code i}th message, without sizes. */
    public String next(int i) {
        return (START + i) + ".M" + random.nextInt(1_000_000) + "P" + (1000 + random.nextInt(4_000_000)) + ".bench";
    }

    /** The name of the {@code i}th message with Dovecot's size fields: its size, and its size with CRLF lines. */
    public String next(int i, long size, long crlfSize) {
        return next(i) + ",S=" + size + ",W=" + crlfSize;
    }
}
