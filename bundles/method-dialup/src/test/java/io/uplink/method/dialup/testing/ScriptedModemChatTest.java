package io.uplink.method.dialup.testing;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.Timeout;

/**
 * The scripted modem checked against a dialler nobody here wrote: Debian's {@code chat} (package ppp) dials it on
 * the pseudo-terminal and must exit as it would against a real modem. chat's exit code for an ABORT string is 4 +
 * its position, so the ABORT order below gives 4 BUSY, 5 NO CARRIER, 6 NO DIALTONE, 7 NO ANSWER; 3 is a timeout.
 */
public class ScriptedModemChatTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder(new File("target").getAbsoluteFile());
    @Rule
    public Timeout timeout = Timeout.seconds(60);

    private PtyPair pair;
    private ScriptedModem modem;

    @Before
    public void modem() throws Exception {
        assertTrue("chat (Debian package ppp) is installed", Files.isExecutable(Path.of("/usr/sbin/chat")));
        pair = PtyPair.open(tmp.getRoot().toPath().resolve("pty"));
        modem = ScriptedModem.serve(pair.modem());
    }

    @After
    public void close() throws Exception {
        modem.close();
        pair.close();
    }

    private int chat(String number) throws Exception {
        File line = pair.line().toFile();
        Process p = new ProcessBuilder("/usr/sbin/chat", "-t", "2",
                "ABORT", "BUSY", "ABORT", "NO CARRIER", "ABORT", "NO DIALTONE", "ABORT", "NO ANSWER",
                "", "ATZ", "OK", "AT&F E0 V1 Q0", "OK", "ATDT" + number, "CONNECT", "")
                .redirectInput(line).redirectOutput(line)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue("chat ends", p.waitFor(30, TimeUnit.SECONDS));
        return p.exitValue();
    }

    @Test
    public void connectExitsZero() throws Exception {
        assertEquals(0, chat(ScriptedModem.CONNECTS));
        assertTrue(modem.isOnline());
        assertEquals(List.of("ATZ", "AT&F E0 V1 Q0", "ATDT" + ScriptedModem.CONNECTS), modem.commands());
    }

    @Test
    public void busyExitsFour() throws Exception {
        assertEquals(4, chat(ScriptedModem.BUSY));
        assertFalse(modem.isOffHook());
    }

    @Test
    public void noCarrierExitsFive() throws Exception {
        assertEquals(5, chat(ScriptedModem.NO_CARRIER));
    }

    @Test
    public void noDialtoneExitsSix() throws Exception {
        assertEquals(6, chat(ScriptedModem.NO_DIALTONE));
    }

    @Test
    public void noAnswerExitsSeven() throws Exception {
        assertEquals(7, chat(ScriptedModem.NO_ANSWER));
    }

    @Test
    public void silenceTimesOutWithThree() throws Exception {
        assertEquals(3, chat(ScriptedModem.SILENT));
        assertEquals(1, modem.dials(ScriptedModem.SILENT));
    }

    @Test
    public void busyTwiceThenConnect() throws Exception {
        String number = ScriptedModem.busyThenConnect(2);
        assertEquals(4, chat(number));
        assertEquals(4, chat(number));
        assertEquals(0, chat(number));
        assertEquals(3, modem.dials(number));
    }
}
