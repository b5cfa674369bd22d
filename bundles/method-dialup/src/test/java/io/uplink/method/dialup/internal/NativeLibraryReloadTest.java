package io.uplink.method.dialup.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.fazecast.jSerialComm.SerialPort;

import io.uplink.testsupport.MovableClock;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A bundle refresh loads jSerialComm in a new class loader, and the JVM refuses a native library file that another
 * class loader still holds (jSerialComm's shutdown hook keeps each one alive). Without
 * {@code jSerialComm.library.randomizeNativeName} jSerialComm 2.11 extracts the library under one name into two
 * folders (temp and home), so the first load and one refresh work, and the second refresh fails. Fresh class loaders
 * stand for the bundle and its refreshes; the extraction folders are the test's own.
 */
public class NativeLibraryReloadTest {

    private static final URL JAR = SerialPort.class.getProtectionDomain().getCodeSource().getLocation();
    private static final String[] SAVED = {DialupMethod.RANDOMIZE_NATIVE, DialupMethod.APP_ID, "java.io.tmpdir",
            "user.home"};

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder(new File("target").getAbsoluteFile());

    private final Map<String, String> saved = new LinkedHashMap<>();

    @Before
    public void ownExtractionFolders() throws Exception {
        for (String key : SAVED) {
            saved.put(key, System.getProperty(key));
        }
        System.clearProperty(DialupMethod.RANDOMIZE_NATIVE);
        System.clearProperty(DialupMethod.APP_ID);
        // jSerialComm reads these when a class loader first loads it: each test extracts into its own folders
        System.setProperty("java.io.tmpdir", tmp.newFolder("tmp").getPath());
        System.setProperty("user.home", tmp.newFolder("home").getPath());
    }

    @After
    public void restoreProperties() {
        saved.forEach((key, value) -> {
            if (value == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, value);
            }
        });
    }

    /** Loads jSerialComm afresh, as a refreshed bundle does, and makes it load its native library. */
    private static void loadInNewClassLoader() throws Exception {
        URLClassLoader loader = new URLClassLoader(new URL[] {JAR}, ClassLoader.getPlatformClassLoader());
        Class<?> c = Class.forName("com.fazecast.jSerialComm.SerialPort", true, loader);
        try {
            c.getMethod("getCommPorts").invoke(null);
        } catch (InvocationTargetException e) {
            throw (Exception) e.getCause();
        }
    }

    private static DialupMethod activated(Map<String, Object> config) {
        DialupMethod m = new DialupMethod(ModemFixture.clockwork(new MovableClock(Instant.EPOCH)));
        m.activate(config);
        return m;
    }

    @Test
    public void afterActivationTheBundleCanBeRefreshedAgainAndAgain() throws Exception {
        activated(Map.of(DialupMethod.APP_ID, "uplink-test-" + UUID.randomUUID()));
        for (int load = 1; load <= 4; load++) {
            try {
                loadInNewClassLoader();
            } catch (Throwable e) {
                throw new AssertionError("load " + load + " of jSerialComm failed", e);
            }
        }
    }

    @Test
    public void withoutRandomizedNamesTheSecondRefreshFails() throws Exception {
        System.setProperty(DialupMethod.APP_ID, "uplink-test-" + UUID.randomUUID());
        loadInNewClassLoader();
        loadInNewClassLoader();
        Throwable e = assertThrows(Throwable.class, NativeLibraryReloadTest::loadInNewClassLoader);
        String text = e + " " + e.getCause();
        assertTrue(text, text.contains("already loaded in another classloader")
                || text.contains("Cannot load native library") || e instanceof LinkageError);
    }

    @Test
    public void activationSetsThePropertiesUnlessAlreadySet() {
        System.setProperty(DialupMethod.APP_ID, "from-system-properties");
        activated(Map.of(DialupMethod.APP_ID, "from-config"));
        assertEquals("true", System.getProperty(DialupMethod.RANDOMIZE_NATIVE));
        assertEquals("from-system-properties", System.getProperty(DialupMethod.APP_ID));
    }
}
