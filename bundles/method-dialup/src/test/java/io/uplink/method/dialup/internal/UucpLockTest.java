package io.uplink.method.dialup.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** UUCP lock files as pppd and minicom read them. */
public class UucpLockTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void names() {
        assertEquals("LCK..ttyUSB0", UucpLock.lockName("/dev/ttyUSB0"));
        assertEquals("LCK..pts_3", UucpLock.lockName("/dev/pts/3"));
        assertEquals("LCK..line", UucpLock.lockName("/tmp/x/line"));
    }

    @Test
    public void writesTenDigitPidAndRemovesOnClose() throws Exception {
        Path dir = tmp.getRoot().toPath();
        try (UucpLock lock = UucpLock.acquire(dir, "/dev/ttyS0")) {
            assertEquals(String.format("%10d\n", ProcessHandle.current().pid()), Files.readString(lock.file()));
            try {
                UucpLock.acquire(dir, "/dev/ttyS0");
                fail("a second lock of the same port");
            } catch (UucpLock.PortInUseException e) {
                assertEquals("port /dev/ttyS0 in use by pid " + ProcessHandle.current().pid(), e.getMessage());
            }
        }
        assertFalse(Files.exists(dir.resolve("LCK..ttyS0")));
        try (Var v = new Var(dir)) {
            assertEquals("no temporary files left", 0, v.count());
        }
    }

    @Test
    public void liveBinaryLockIsRespectedAndStaleOneRemoved() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Process live = new ProcessBuilder("sleep", "60").start();
        try {
            byte[] pid = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) live.pid()).array();
            Files.write(dir.resolve("LCK..ttyS1"), pid);
            try {
                UucpLock.acquire(dir, "/dev/ttyS1");
                fail();
            } catch (UucpLock.PortInUseException e) {
                assertEquals(live.pid(), e.owner);
            }
        } finally {
            live.destroy();
            live.waitFor();
        }
        try (UucpLock lock = UucpLock.acquire(dir, "/dev/ttyS1")) {
            assertTrue("the dead owner's lock was replaced", Files.readString(lock.file()).trim()
                    .equals(Long.toString(ProcessHandle.current().pid())));
        }
    }

    /** A binary pid whose bytes look like white space and a digit is still read as binary (found by a clean run). */
    @Test
    public void binaryPidWhoseBytesLookLikeTextIsReadAsBinary() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path tabSeven = dir.resolve("LCK..ttyS3");
        Files.write(tabSeven, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(14089).array());
        assertEquals(14089, UucpLock.owner(tabSeven));
        Path ascii = dir.resolve("LCK..ttyS4");
        Files.writeString(ascii, String.format("%10d%n", 4242));
        assertEquals(4242, UucpLock.owner(ascii));
        Path shortAscii = dir.resolve("LCK..ttyS5");
        Files.writeString(shortAscii, "123\n");
        assertEquals("four bytes of digits and a newline are text, not binary", 123, UucpLock.owner(shortAscii));
    }

    @Test
    public void lockOfSomeoneElseIsNotRemovedOnClose() throws Exception {
        Path dir = tmp.getRoot().toPath();
        UucpLock lock = UucpLock.acquire(dir, "/dev/ttyS2");
        Files.writeString(lock.file(), "         1\n"); // taken over (init never dies)
        lock.close();
        assertTrue(Files.exists(lock.file()));
    }

    private static final class Var implements AutoCloseable {
        private final java.util.stream.Stream<Path> s;

        Var(Path dir) throws java.io.IOException {
            s = Files.list(dir);
        }

        long count() {
            return s.count();
        }

        @Override
        public void close() {
            s.close();
        }
    }
}
