package io.uplink.method.dialup.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** The dialup keys: defaults, and errors that name the file and the key. */
public class DialupSettingsTest {

    private static Settings settings(String... kv) {
        Map<String, Object> p = new HashMap<>();
        p.put(Settings.FILEINSTALL_FILENAME, "file:/opt/karaf/etc/io.uplink.connection-modem.cfg");
        p.put("dialup.port", "/dev/ttyUSB0");
        p.put("dialup.number", "08450000000");
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        return Settings.of("connection", "io.uplink.connection", p);
    }

    private static void fails(String key, String detail, String... kv) {
        try {
            DialupSettings.of(settings(kv));
            fail("expected an error for " + key);
        } catch (ConfigException e) {
            assertEquals(key, e.key());
            assertEquals("io.uplink.connection-modem.cfg", e.file());
            assertTrue(e.getMessage(), e.getMessage().startsWith("connection 'modem' (io.uplink.connection-modem.cfg), key '" + key + "'"));
            assertTrue(e.getMessage(), e.detail().contains(detail));
        }
    }

    @Test
    public void defaults() {
        DialupSettings s = DialupSettings.of(settings());
        assertEquals(115200, s.baud());
        assertEquals(List.of("ATZ", "AT&F E0 V1 Q0"), s.init());
        assertEquals(DialupSettings.DialMode.TONE, s.dial());
        assertEquals(3, s.retries());
        assertEquals(Duration.ofSeconds(30), s.interval());
        assertEquals(Duration.ofSeconds(60), s.connectTimeout());
        assertEquals(Duration.ofSeconds(30), s.pppReadyTimeout());
        assertEquals(Duration.ZERO, s.hangupIdle());
        assertEquals(Path.of("/var/lock"), s.lockDir());
        assertEquals(null, s.pppCommand());
        assertEquals("serial:/dev/ttyUSB0", s.resource());
    }

    @Test
    public void values() {
        DialupSettings s = DialupSettings.of(settings("dialup.baud", "57600", "dialup.init", "ATZ | AT&F1 | ATS0=0",
                "dialup.dial", "pulse", "dialup.retries", "5", "dialup.interval", "2m", "hangup.idle", "2m",
                "dialup.password", "s3cret", "dialup.ppp.command", "pppd call isp nodetach"));
        assertEquals(57600, s.baud());
        assertEquals(List.of("ATZ", "AT&F1", "ATS0=0"), s.init());
        assertEquals("ATDP", s.dial().command);
        assertEquals(5, s.retries());
        assertEquals(Duration.ofMinutes(2), s.interval());
        assertEquals(Duration.ofMinutes(2), s.hangupIdle());
        assertFalse("no password in toString", s.toString().contains("s3cret"));
        assertEquals(Duration.ofMinutes(5),
                DialupSettings.of(settings("hangup.idle", "1m", "dialup.hangup.idle", "5m")).hangupIdle());
    }

    @Test
    public void errorsNameTheKey() {
        fails("dialup.port", "is required", "dialup.port", " ");
        fails("dialup.port", "explicit absolute path", "dialup.port", "ttyUSB0");
        fails("dialup.number", "is required", "dialup.number", "");
        fails("dialup.number", "digits", "dialup.number", "0845;ATH");
        fails("dialup.baud", "whole number", "dialup.baud", "fast");
        fails("dialup.dial", "tone, pulse", "dialup.dial", "rotary");
        fails("dialup.retries", "between 0 and 100", "dialup.retries", "-1");
        fails("dialup.interval", "duration", "dialup.interval", "soon");
        fails("dialup.connectTimeout", "longer than 0", "dialup.connectTimeout", "0");
        fails("dialup.init", "start with AT", "dialup.init", "ATZ | reset");
        fails("dialup.ppp.ready", "regular expression", "dialup.ppp.ready", "local (IP");
        fails("hangup.idle", "duration", "hangup.idle", "later");
        fails("dialup.lockDir", "absolute", "dialup.lockDir", "lock");
    }
}
