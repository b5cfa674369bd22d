package io.uplink.testsupport;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private PostgreSQL instance for tests and benchmarks: Debian's server binaries, a fresh cluster in a temporary
 * directory, loopback only, on a free port. {@code initdb} refuses to run as root, so as root the server runs as
 * the {@code postgres} user through {@code runuser}. Each test makes its own database ({@link #createDatabase}).
 *
 * <p>{@code fsync} stays on unless asked otherwise: crash tests need it.
 */
public final class PostgresServer implements AutoCloseable {

    private final Path dir;
    private final Path bin;
    private final int port;
    private final boolean asRoot;

    private PostgresServer(Path dir, Path bin, int port, boolean asRoot) {
        this.dir = dir;
        this.bin = bin;
        this.port = port;
        this.asRoot = asRoot;
    }

    /** Starts a server with fsync on. */
    public static PostgresServer start() throws IOException, InterruptedException {
        return start(true);
    }

    /**
     * Starts a server.
     *
     * @param fsync false only for tests that never kill anything
     */
    public static PostgresServer start(boolean fsync) throws IOException, InterruptedException {
        Path bin = binaries();
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("uplink-pg-");
        int port = freePort();
        PostgresServer pg = new PostgresServer(dir, bin, port, root);
        if (root) {
            run(List.of("chown", "postgres", dir.toString()));
            run(List.of("chmod", "755", dir.toString()));
        }
        pg.runAsOwner(List.of(bin.resolve("initdb").toString(), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                "--no-sync", "-D", dir.resolve("data").toString()));
        String opts = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c max_connections=300"
                + " -c fsync=" + (fsync ? "on" : "off");
        pg.runAsOwner(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-o", opts,
                "-l", dir.resolve("server.log").toString(), "-w", "-t", "60", "start"));
        return pg;
    }

    /** The server's port on 127.0.0.1. */
    public int port() {
        return port;
    }

    /** The JDBC URL of a database on this server. */
    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** The user to connect as (trust authentication: any password is accepted). */
    public String user() {
        return "postgres";
    }

    /** Creates a database with a fresh name and returns its name. */
    public String createDatabase() throws SQLException {
        String name = "uplink_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        }
        return name;
    }

    /** Drops a database, ending the sessions still connected to it. */
    public void dropDatabase(String name) throws SQLException {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        }
    }

    /** A new session on a database of this server. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(url(database), user(), "");
    }

    /** The server's log, for a failing test's message. */
    public Path log() {
        return dir.resolve("server.log");
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            runAsOwner(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m",
                    "immediate", "-w", "stop"));
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void runAsOwner(List<String> command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asRoot) {
            cmd.addAll(Arrays.asList("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(command);
        run(cmd);
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + new String(out));
        }
    }

    /** The newest installed server's binaries (Debian keeps them in /usr/lib/postgresql/N/bin). */
    static Path binaries() throws IOException {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            throw new IOException("PostgreSQL is not installed (apt-get install postgresql)");
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isExecutable(p.resolve("bin/initdb")))
                    .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().replaceAll("\\D", "0"))))
                    .map(p -> p.resolve("bin"))
                    .orElseThrow(() -> new IOException("no PostgreSQL server binaries under " + root));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
