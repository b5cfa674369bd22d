package io.uplink.core.internal;

import static org.junit.Assert.assertEquals;

import io.uplink.api.mail.MailCollector;

import java.util.List;
import java.util.Map;

import org.junit.After;
import org.junit.Test;

public class ConnectionServiceComponentTest {

    private final ConnectionServiceComponent component = new ConnectionServiceComponent();

    @After
    public void tearDown() {
        component.deactivate();
    }

    private static Map<String, Object> props(Object connections, int priority, boolean enabled) {
        return Map.of(MailCollector.CONNECTIONS, connections, MailCollector.PRIORITY, priority,
                MailCollector.ENABLED, enabled);
    }

    private List<String> ids(String connection) {
        return component.collectors(connection).stream().map(MailCollector::id).toList();
    }

    @Test
    public void collectorsOfAConnectionFollowEveryBindUpdateAndUnbind() {
        MailCollector alice = new TestCollector("alice");
        MailCollector bob = new TestCollector("bob");
        MailCollector carol = new TestCollector("carol");
        component.bindCollector(alice, props(new String[] {"office", "modem"}, 5, true));
        component.bindCollector(bob, props(new String[] {"office"}, 1, true));
        component.bindCollector(carol, props("office, modem", 5, false));
        assertEquals("lowest priority first, disabled left out", List.of("bob", "alice"), ids("office"));
        assertEquals(List.of("alice"), ids("modem"));
        assertEquals(List.of(), ids("home"));

        component.updatedCollector(carol, props("office, modem", 0, true));
        assertEquals(List.of("carol", "bob", "alice"), ids("office"));
        assertEquals(List.of("carol", "alice"), ids("modem"));
        component.updatedCollector(alice, props(List.of("home"), 5, true));
        assertEquals(List.of("carol", "bob"), ids("office"));
        assertEquals(List.of("alice"), ids("home"));
        component.unbindCollector(bob, Map.of());
        assertEquals(List.of("carol"), ids("office"));
    }
}
