package io.uplink.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionService;
import io.uplink.api.ConnectionState;
import io.uplink.api.FiringResult;
import io.uplink.api.Outcome;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Error notices are mail: with the status page's feature (uplink-web) uninstalled, a FAILED firing still puts
 * a notice into the local postmaster mailbox (notify.to is unset in the distribution).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NoticesIT extends UplinkTestSupport {

    @Inject
    private ConnectionService connections;

    @Test
    public void aFailedFiringMailsANoticeWithoutTheWebFeature() throws Exception {
        featureService.uninstallFeature("uplink-web");
        await().atMost(120, TimeUnit.SECONDS).until(() -> findBundleByName("io.uplink.web") == null);
        assertNull("the status page is gone", findBundleByName("io.uplink.web"));

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        writeCfg("io.uplink.connection-itnotice.cfg", "name = IT notice router\nmethod = network\n"
                + "network.probe = 127.0.0.1:" + closedPort + "\nnetwork.probe.timeout = 2s\n");
        try {
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> connections.status("itnotice")
                    .map(c -> c.state() == ConnectionState.IDLE).orElse(false));

            FiringResult r = connections.fire("itnotice", "test").await(Duration.ofSeconds(60));
            assertEquals(r.summary(), Outcome.FAILED, r.outcome());

            Path postmaster = Path.of(System.getProperty("karaf.data"), "uplink", "mailboxes", "postmaster");
            await().atMost(SETTLE_SECONDS, TimeUnit.SECONDS).until(() -> notice(postmaster, r.firingId()) != null);
            String mail = notice(postmaster, r.firingId());
            assertTrue(mail, mail.contains("Subject: Uplink: connection IT notice router ('itnotice') FAILED"));
            assertTrue(mail, mail.contains("127.0.0.1:" + closedPort));
        } finally {
            Files.deleteIfExists(etc().resolve("io.uplink.connection-itnotice.cfg"));
        }
    }

    /** The notice about one firing in a Maildir, or null. */
    private static String notice(Path maildir, String firingId) {
        if (!Files.isDirectory(maildir)) {
            return null;
        }
        try (Stream<Path> files = Files.walk(maildir)) {
            return files.filter(Files::isRegularFile).map(NoticesIT::read)
                    .filter(m -> m.contains("Firing:     " + firingId)).findFirst().orElse(null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
