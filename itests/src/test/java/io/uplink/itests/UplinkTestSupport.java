package io.uplink.itests;

import static org.ops4j.pax.exam.CoreOptions.maven;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.itests.KarafTestSupport;
import org.junit.Rule;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.KarafDistributionBaseConfigurationOption;
import org.ops4j.pax.exam.karaf.options.KarafDistributionOption;
import org.ops4j.pax.exam.options.MavenArtifactUrlReference;

/**
 * Runs a test inside the Uplink distribution built by this reactor (the karaf-assembly tar.gz), with
 * Karaf's test support: random ports, boot finished, shell sessions.
 */
public abstract class UplinkTestSupport extends KarafTestSupport {

    /**
     * How long a test waits for a condition that must come true (a file FileInstall has to deliver, a state, a
     * firing): generous, because the wait ends as soon as the condition holds and a shared, slow machine must
     * not fail a test that is right. Time-bound claims ("nothing for N s") use their own windows.
     */
    protected static final long SETTLE_SECONDS = 60;

    /** A failure reads once; no silent second try. */
    @Rule
    public Retry noRetry = new Retry(false);

    @Override
    public MavenArtifactUrlReference getKarafDistribution() {
        return maven().groupId("io.uplink").artifactId("uplink-karaf")
                .version(System.getProperty("uplink.project.version")).type("tar.gz");
    }

    @Override
    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>();
        for (Option o : super.config()) {
            if (o instanceof KarafDistributionBaseConfigurationOption) {
                options.add(KarafDistributionOption.karafDistributionConfiguration()
                        .frameworkUrl(System.getProperty("uplink.distribution"))
                        .karafVersion(System.getProperty("karaf.version"))
                        .name("Uplink")
                        .unpackDirectory(new File("target/exam")));
            } else {
                options.add(o);
            }
        }
        // FileInstall looks at etc/ every 200 ms instead of every second: the tests wait on items it takes in
        options.add(KarafDistributionOption.editConfigurationFilePut("etc/config.properties", "felix.fileinstall.poll", "200"));
        // The features deployer re-checks the installed features about a second after the first test started and
        // refreshed awaitility (to wire its optional junit import), which refreshed the test probe under a running
        // test: "bundle wiring for PAXEXAM-PROBE-... is no longer valid" at its next class load. No refresh in tests.
        options.add(KarafDistributionOption.editConfigurationFilePut("etc/org.apache.karaf.features.cfg", "autoRefresh", "false"));
        options.addAll(List.of(extraOptions()));
        return options.toArray(new Option[0]);
    }

    /** Options a test class adds. */
    protected Option[] extraOptions() {
        return new Option[0];
    }

    /** The running container's {@code etc/} folder. */
    protected Path etc() {
        return Path.of(System.getProperty("karaf.etc"));
    }

    /** Writes a cfg file into {@code etc/} atomically, so FileInstall never reads half of it. */
    protected Path writeCfg(String name, String content) throws IOException {
        Path target = etc().resolve(name);
        Path tmp = etc().resolve("." + name + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }
}
