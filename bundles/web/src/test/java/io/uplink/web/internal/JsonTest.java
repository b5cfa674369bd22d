package io.uplink.web.internal;

import static org.junit.Assert.assertEquals;

import io.uplink.api.Outcome;

import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.Test;

public class JsonTest {

    @Test
    public void writesNestedValues() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", "office");
        m.put("n", 3);
        m.put("ms", 12L);
        m.put("ok", true);
        m.put("none", null);
        m.put("outcome", Outcome.PARTIAL);
        m.put("at", Instant.parse("2026-01-02T03:04:05Z"));
        m.put("list", List.of(1, "two", List.of()));
        m.put("nan", Double.NaN);
        assertEquals("{\"id\":\"office\",\"n\":3,\"ms\":12,\"ok\":true,\"none\":null,\"outcome\":\"PARTIAL\","
                + "\"at\":\"2026-01-02T03:04:05Z\",\"list\":[1,\"two\",[]],\"nan\":null}", Json.write(m));
    }

    @Test
    public void escapesWhatWouldBreakJsonOrAPage() {
        assertEquals("\"a\\\"b\\\\c\\nd\\te\\u0001\"", Json.write("a\"b\\c\nd\te\u0001"));
        // a connection name cannot close a script element or inject markup when the JSON is embedded
        assertEquals("\"\\u003c/script\\u003e \\u0026 \\u2028\"", Json.write("</script> & \u2028"));
        assertEquals("\"Büro ✓\"", Json.write("Büro ✓"));
    }

    @Test
    public void arraysAndEmptyMaps() {
        assertEquals("[\"a\",null]", Json.write(new Object[] {"a", null}));
        assertEquals("{}", Json.write(Map.of()));
        assertEquals("[1,2]", Json.write(Arrays.asList(1, 2)));
    }
}
