package io.uplink.method.dialup.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UUCP lock convention for serial devices, as pppd, minicom and mgetty keep it: a file
 * {@code LCK..<device>} in the lock directory holding the owner's pid as ten right-aligned ASCII digits.
 * A lock whose process is gone is stale and removed; a live one means the port is in use.
 */
final class UucpLock implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(UucpLock.class);

    private final Path file;
    private final long pid;
    private boolean released;

    private UucpLock(Path file, long pid) {
        this.file = file;
        this.pid = pid;
    }

    /** Thrown when a live process holds the lock. */
    static final class PortInUseException extends Exception {
        private static final long serialVersionUID = 1L;
        final long owner;

        PortInUseException(String port, long owner) {
            super("port " + port + " in use by pid " + owner);
            this.owner = owner;
        }
    }

    /** The lock file name of a device: {@code /dev/ttyUSB0} → {@code LCK..ttyUSB0}, {@code /dev/pts/3} → {@code LCK..pts_3}. */
    static String lockName(String port) {
        String name = port.startsWith("/dev/") ? port.substring(5) : Path.of(port).getFileName().toString();
        return "LCK.." + name.replace('/', '_');
    }

    /**
     * Takes the lock of the port for this process.
     *
     * @throws PortInUseException when a live process holds it
     * @throws IOException when the lock directory cannot be written
     */
    static UucpLock acquire(Path lockDir, String port) throws PortInUseException, IOException {
        long me = ProcessHandle.current().pid();
        Path file = lockDir.resolve(lockName(port));
        byte[] content = String.format("%10d\n", me).getBytes(StandardCharsets.US_ASCII);
        // two tries: the second after removing a stale lock
        for (int attempt = 0; attempt < 2; attempt++) {
            Path tmp = Files.createTempFile(lockDir, "LTMP.", "." + me);
            try {
                Files.write(tmp, content);
                // a hard link is atomic and fails when the lock exists: the content is never seen half-written
                Files.createLink(file, tmp);
                return new UucpLock(file, me);
            } catch (FileAlreadyExistsException e) {
                long owner = owner(file);
                if (owner > 0 && owner != me && ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
                    throw new PortInUseException(port, owner);
                }
                if (owner == me) {
                    // our own process: another connection of this Karaf holds the port
                    throw new PortInUseException(port, owner);
                }
                LOG.info("removing stale lock {} of pid {} (no such process)", file, owner);
                Files.deleteIfExists(file);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        throw new PortInUseException(port, owner(file));
    }

    /** The pid in a lock file: ASCII (HDB UUCP) or a 4-byte binary int (old UUCP); 0 when unreadable. */
    static long owner(Path file) throws IOException {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return 0;
        }
        // ASCII only when every byte is a digit, a space or a newline: trim() would also drop the tabs and NULs
        // of a binary pid (14089 is the bytes TAB '7' NUL NUL) and read it as another process's pid
        if (asciiPid(b)) {
            String text = new String(b, StandardCharsets.US_ASCII).strip();
            if (text.matches("\\d{1,18}")) {
                return Long.parseLong(text);
            }
        }
        if (b.length == 4) {
            return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (long) (b[3] & 0xff) << 24;
        }
        return 0;
    }

    private static boolean asciiPid(byte[] b) {
        boolean digit = false;
        for (byte x : b) {
            if (x >= '0' && x <= '9') {
                digit = true;
            } else if (x != ' ' && x != '\n') {
                return false;
            }
        }
        return digit;
    }

    Path file() {
        return file;
    }

    /** Removes the lock, if it is still ours. */
    @Override
    public synchronized void close() {
        if (released) {
            return;
        }
        released = true;
        try {
            if (owner(file) == pid) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            LOG.warn("cannot remove lock file {}: {}", file, e.toString());
        }
    }
}
