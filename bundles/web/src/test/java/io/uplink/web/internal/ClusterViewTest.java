package io.uplink.web.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.uplink.api.ConnectionState;
import io.uplink.api.ConnectionStatus;
import io.uplink.api.FiringResult;
import io.uplink.api.MailCounts;
import io.uplink.api.Outcome;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** What {@code GET api/connections} and {@code GET api/history} show of the node: only in a cluster. */
public class ClusterViewTest {

    private static final Instant T0 = Instant.parse("2026-12-01T08:00:00Z");
    private static final FiringResult SINGLE = new FiringResult("f1", "office", "Office", "web:admin", T0, T0.plusSeconds(2),
            Outcome.OK, "sent 1, collected 0", MailCounts.NONE, List.of(), List.of(), null);

    private static ConnectionStatus status(FiringResult last, String node) {
        return new ConnectionStatus("office", "Office", "network", true, 0, ConnectionState.IDLE, "",
                "io.uplink.connection-office.cfg", "", List.of(), "", null, last, List.of(), Map.of(), node);
    }

    @Test
    public void inAClusterTheConnectionAndItsResultsNameTheNode() {
        String json = Json.write(JsonViews.connection(status(SINGLE.withNode("node-b"), "node-b"), null));
        assertTrue(json, json.contains("\"reason\":\"\",\"node\":\"node-b\",\"file\""));
        assertTrue(json, json.contains("\"cause\":\"web:admin\",\"node\":\"node-b\",\"started\""));
    }

    @Test
    public void aSingleNodeShowsNoNodeKey() {
        String json = Json.write(JsonViews.connection(status(SINGLE, null), null));
        assertFalse(json, json.contains("\"node\""));
        assertFalse(Json.write(JsonViews.result(SINGLE)).contains("\"node\""));
    }
}
