package io.uplink.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/** The distribution boots with every Uplink bundle of the base feature active. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DistributionIT extends UplinkTestSupport {

    @Test
    public void uplinkBundlesAreActive() {
        for (String name : new String[] {"io.uplink.api", "io.uplink.core", "io.uplink.method.network", "io.uplink.shell"}) {
            Bundle b = findBundleByName(name);
            assertNotNull(name + " is installed", b);
            assertEquals(name + " is active", Bundle.ACTIVE, b.getState());
        }
    }
}
