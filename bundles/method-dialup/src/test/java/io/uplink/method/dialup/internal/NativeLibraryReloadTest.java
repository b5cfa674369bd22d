package io.uplink.method.dialup.internal;

import static org.junit.Assert.assertEquals;

import com.fazecast.jSerialComm.SerialPort;

import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Map;
import java.util.UUID;

import org.junit.Test;

/**
 * The feature sets {@code jSerialComm.library.randomizeNativeName}: a bundle refresh loads jSerialComm in a new
 * class loader, and the JVM refuses a native library file already loaded by another one. Two class loaders stand
 * for the bundle before and after a refresh. (With 2.11.0 a second load without the property did not fail here
 * either, so this shows the setting works, not that it is needed on every platform.)
 */
public class NativeLibraryReloadTest {

    private static final URL JAR = SerialPort.class.getProtectionDomain().getCodeSource().getLocation();

    /** Loads jSerialComm afresh and makes it load its native library. */
    private static void loadInNewClassLoader() throws Exception {
        try (URLClassLoader loader = new URLClassLoader(new URL[] {JAR}, ClassLoader.getPlatformClassLoader())) {
            Class<?> c = Class.forName("com.fazecast.jSerialComm.SerialPort", true, loader);
            try {
                c.getMethod("getCommPorts").invoke(null);
            } catch (InvocationTargetException e) {
                throw (Exception) e.getCause();
            }
        }
    }

    private static void withProperties(String randomize, Runnable test) {
        String oldRandom = System.getProperty(DialupMethod.RANDOMIZE_NATIVE);
        String oldApp = System.getProperty(DialupMethod.APP_ID);
        System.setProperty(DialupMethod.RANDOMIZE_NATIVE, randomize);
        System.setProperty(DialupMethod.APP_ID, "uplink-test-" + UUID.randomUUID());
        try {
            test.run();
        } finally {
            restore(DialupMethod.RANDOMIZE_NATIVE, oldRandom);
            restore(DialupMethod.APP_ID, oldApp);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    @Test
    public void withRandomizedNamesASecondLoadWorks() {
        withProperties("true", () -> {
            try {
                loadInNewClassLoader();
                loadInNewClassLoader();
            } catch (Throwable e) {
                throw new AssertionError("second load failed", e);
            }
        });
    }

    @Test
    public void activationSetsThePropertiesUnlessAlreadySet() {
        String oldRandom = System.getProperty(DialupMethod.RANDOMIZE_NATIVE);
        String oldApp = System.getProperty(DialupMethod.APP_ID);
        System.clearProperty(DialupMethod.RANDOMIZE_NATIVE);
        System.setProperty(DialupMethod.APP_ID, "from-system-properties");
        try {
            DialupMethod m = new DialupMethod(new MovableClock());
            m.activate(Map.of(DialupMethod.APP_ID, "from-config"));
            assertEquals("true", System.getProperty(DialupMethod.RANDOMIZE_NATIVE));
            assertEquals("from-system-properties", System.getProperty(DialupMethod.APP_ID));
        } finally {
            restore(DialupMethod.RANDOMIZE_NATIVE, oldRandom);
            restore(DialupMethod.APP_ID, oldApp);
        }
    }
}
