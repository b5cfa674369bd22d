package io.uplink.oauth2.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.nimbusds.jose.util.JSONObjectUtils;

/**
 * The refresh tokens, one owner-only file per account ({@code <key>.json}, mode 0600) in an owner-only
 * directory (0700). A file is replaced atomically: written to a temp file, fsynced, renamed over the old one,
 * and the directory fsynced, so a crash leaves either the old or the new token, never neither.
 */
final class SecretStore {

    static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

    /** One account's stored grant. */
    record Grant(String refreshToken, String username, String scope, Instant obtained, String lastError) {
        Grant withError(String error) {
            return new Grant(refreshToken, username, scope, obtained, error);
        }
    }

    private final Path dir;

    SecretStore(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    Optional<Grant> read(String key) throws IOException {
        Path f = dir.resolve(key + ".json");
        String text;
        try {
            text = Files.readString(f, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        try {
            Map<String, Object> m = JSONObjectUtils.parse(text);
            Object obtained = m.get("obtained");
            return Optional.of(new Grant((String) m.get("refresh_token"), (String) m.get("username"),
                    (String) m.get("scope"), obtained == null ? null : Instant.parse(obtained.toString()),
                    (String) m.get("last_error")));
        } catch (ParseException | ClassCastException | java.time.format.DateTimeParseException e) {
            throw new IOException("the token file " + f + " is damaged; run oauth:authorize again");
        }
    }

    void write(String key, Grant g) throws IOException {
        ensureDir();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("refresh_token", g.refreshToken());
        m.put("username", g.username());
        m.put("scope", g.scope());
        if (g.obtained() != null) {
            m.put("obtained", g.obtained().toString());
        }
        if (g.lastError() != null) {
            m.put("last_error", g.lastError());
        }
        byte[] bytes = JSONObjectUtils.toJSONString(m).getBytes(StandardCharsets.UTF_8);
        Path target = dir.resolve(key + ".json");
        Path tmp = dir.resolve(key + ".json.tmp");
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(FILE_MODE))) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot replace " + target + " atomically", e);
        }
        syncDir();
    }

    boolean delete(String key) throws IOException {
        boolean gone = Files.deleteIfExists(dir.resolve(key + ".json"));
        if (gone) {
            syncDir();
        }
        return gone;
    }

    private void ensureDir() throws IOException {
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        } catch (FileAlreadyExistsException e) {
            // there already; the mode is set below either way
        }
        Files.setPosixFilePermissions(dir, DIR_MODE);
    }

    private void syncDir() throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
