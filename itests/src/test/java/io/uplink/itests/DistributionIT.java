package io.uplink.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
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

    @Test
    public void internalFeaturesAreHiddenFromFeatureList() {
        RolePrincipal[] roles = {new RolePrincipal("admin"), new RolePrincipal("manager"), new RolePrincipal("viewer")};
        String list = executeCommand("feature:list", roles);
        assertTrue(list, list.contains("uplink-scheduler"));
        assertFalse("the internal mail library feature is not offered: " + list, list.contains("uplink-jakarta-mail"));
        String all = executeCommand("feature:list --show-hidden", roles);
        assertTrue(all, all.contains("uplink-jakarta-mail"));
    }
}
