package io.uplink.mail.internal.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A standard Maildir ({@code tmp/}, {@code new/}, {@code cur/}) that Dovecot, mutt or any Maildir reader
 * can open. A delivered message is written to {@code tmp/}, forced to disk, renamed into {@code new/},
 * and {@code new/} itself is forced, so once {@link #deliver} returns the message survives a crash.
 */
public final class Maildir {

    private static final AtomicLong COUNTER = new AtomicLong();
    private static final String HOST = hostName();

    private final Path root;
    private final Path tmp;
    private final Path fresh;
    /** The forces of the folders this open created, under way on other threads; {@link #sync()} waits for them. */
    private volatile List<Future<?>> creation = List.of();

    private Maildir(Path root) {
        this.root = root;
        this.tmp = root.resolve("tmp");
        this.fresh = root.resolve("new");
    }

    /** Opens the Maildir at {@code root}, creating its three folders when missing (durably, before it returns). */
    public static Maildir open(Path root) throws IOException {
        return open(root, false);
    }

    /**
     * Opens the Maildir at {@code root}, creating its three folders when missing. With {@code forceLater}, new
     * folders are made durable on shared threads ({@link Fsyncs}) while the caller goes on writing messages: its
     * {@link #sync()} waits for that before it forces {@code new/}, so a message is durable only once its
     * folders are too.
     */
    public static Maildir open(Path root, boolean forceLater) throws IOException {
        Maildir m = new Maildir(root);
        Path cur = root.resolve("cur");
        // a stat each when the three are there (every run after the first); createDirectories on an existing
        // folder is a failed mkdir and two exceptions, three times per collector run
        boolean created = !Files.isDirectory(m.fresh);
        if (created || !Files.isDirectory(m.tmp) || !Files.isDirectory(cur)) {
            Files.createDirectories(m.tmp);
            Files.createDirectories(m.fresh);
            Files.createDirectories(cur);
        }
        if (created) {
            Path parent = root.getParent();
            if (!forceLater) {
                force(root);
                if (parent != null) {
                    force(parent);
                }
            } else {
                // both at once: they share a journal commit
                m.creation = parent == null ? List.of(Fsyncs.folderLater(root))
                        : List.of(Fsyncs.folderLater(root), Fsyncs.folderLater(parent));
            }
        }
        return m;
    }

    /** The Maildir's folder. */
    public Path root() {
        return root;
    }

    /**
     * Stores one message durably.
     *
     * @param message the raw RFC 5322 message; read to its end, not closed
     * @return the message's file in {@code new/}
     */
    public Path deliver(InputStream message) throws IOException {
        return deliver(out -> message.transferTo(out));
    }

    /** What writes a message's bytes. */
    @FunctionalInterface
    public interface Writer {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Stores one message durably, its bytes written by {@code writer} (for example Jakarta Mail's
     * {@code Message.writeTo}, which streams without parsing).
     *
     * @return the message's file in {@code new/}
     */
    public Path deliver(Writer writer) throws IOException {
        return deliver(uniqueName(), writer, true);
    }

    /**
     * Stores one message under a unique name the caller chose beforehand (see {@link #uniqueName()}), so a
     * caller that records the name first can later ask {@link #holds} whether the delivery completed.
     * With {@code syncDirectory} false the file itself is forced but the rename into {@code new/} is not:
     * the caller must call {@link #sync()} before it relies on the message (one directory sync for a batch).
     *
     * @return the message's file in {@code new/}
     */
    public Path deliver(String unique, Writer writer, boolean syncDirectory) throws IOException {
        Path target = write(unique, writer).complete();
        if (syncDirectory) {
            force(fresh);
        }
        return target;
    }

    /**
     * The first half of a delivery: writes the message into {@code tmp/} under {@code unique}, not yet forced.
     * The caller must {@link Delivery#complete() complete} or {@link Delivery#abandon() abandon} it; completing
     * may run on another thread, so the fsyncs of several messages can be under way at once.
     */
    public Delivery write(String unique, Writer writer) throws IOException {
        Path temp = tmp.resolve(unique);
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            OutputStream out = Channels.newOutputStream(ch);
            writer.writeTo(out);
            out.flush();
            return new Delivery(unique, temp, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /** A message written to {@code tmp/} that is not durable yet. */
    public final class Delivery {
        private final String unique;
        private final Path temp;
        private final FileChannel channel;

        private Delivery(String unique, Path temp, FileChannel channel) {
            this.unique = unique;
            this.temp = temp;
            this.channel = channel;
        }

        /** The file in {@code tmp/} (readable before {@link #complete()}, gone after it). */
        public Path temp() {
            return temp;
        }

        /**
         * Forces the file to disk and only then renames it into {@code new/}, so {@code new/} never holds a
         * message whose bytes could be lost. The rename itself is durable after {@link Maildir#sync()}.
         *
         * @return the message's file in {@code new/}
         */
        public Path complete() throws IOException {
            long size;
            try (FileChannel ch = channel) {
                ch.force(true);
                size = ch.size();
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(temp);
                throw e;
            }
            Path target = fresh.resolve(unique + ",S=" + size);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target);
            }
            return target;
        }

        /** Gives the delivery up: the file in {@code tmp/} is removed. */
        public void abandon() throws IOException {
            try {
                channel.close();
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }

    /**
     * Forces {@code new/}, making every earlier {@link #deliver(String, Writer, boolean)} durable, once the
     * folders this Maildir's open created are durable.
     */
    public void sync() throws IOException {
        List<Future<?>> made = creation;
        if (!made.isEmpty()) {
            for (Future<?> f : made) {
                Fsyncs.await(f, "the new Maildir " + root);
            }
            creation = List.of();
        }
        force(fresh);
    }

    /**
     * Whether a message delivered under {@code unique} is in {@code new/} or {@code cur/} (a reader may have
     * moved it and added flags to its name).
     */
    public boolean holds(String unique) throws IOException {
        return find(unique) != null;
    }

    /**
     * The file of a message delivered under {@code unique}, in {@code new/} or in {@code cur/} (where a reader
     * moves it, adding {@code ,W=...} or {@code :2,<flags>} to its name), or {@code null}.
     */
    public Path find(String unique) throws IOException {
        for (Path dir : new Path[] {fresh, root.resolve("cur")}) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (java.nio.file.DirectoryStream<Path> names = Files.newDirectoryStream(dir,
                    p -> p.getFileName().toString().startsWith(unique))) {
                for (Path p : names) {
                    String n = p.getFileName().toString();
                    if (n.equals(unique) || n.startsWith(unique + ",") || n.startsWith(unique + ":")) {
                        return p;
                    }
                }
            }
        }
        return null;
    }

    /**
     * Makes what is in {@code new/} and {@code cur/} durable: after a crash, a file found there may have been
     * renamed in without its directory having been forced yet.
     */
    public void syncAll() throws IOException {
        force(fresh);
        Path cur = root.resolve("cur");
        if (Files.isDirectory(cur)) {
            force(cur);
        }
    }

    /**
     * Delivers a copy of {@code source} (the same message's file in another Maildir) under the same unique
     * name, durably: what an interrupted delivery to several Maildirs left undone. Anything the interrupted
     * delivery left in {@code tmp/} is discarded first.
     *
     * @return the message's file in {@code new/}
     */
    public Path restore(String unique, Path source) throws IOException {
        discardTemporary(unique);
        return deliver(unique, out -> Files.copy(source, out), true);
    }

    /** Removes what an interrupted delivery under {@code unique} left in {@code tmp/}. */
    public void discardTemporary(String unique) throws IOException {
        Files.deleteIfExists(tmp.resolve(unique));
    }

    /** Forces a directory's entries to disk, so a rename in it survives a crash. */
    public static void force(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** A name unique per the Maildir convention: {@code <seconds>.M<micros>P<pid>Q<n>.<host>}. */
    public static String uniqueName() {
        long nanos = System.currentTimeMillis() * 1000L + (System.nanoTime() / 1000L) % 1000L;
        long seconds = nanos / 1_000_000L;
        long micros = nanos % 1_000_000L;
        return seconds + ".M" + micros + "P" + ProcessHandle.current().pid() + "Q" + COUNTER.incrementAndGet()
                + "." + HOST;
    }

    private static String hostName() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            h = "localhost";
        }
        // '/' and ':' are not allowed in Maildir names; the convention encodes them
        return h.replace("/", "\\057").replace(":", "\\072");
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
