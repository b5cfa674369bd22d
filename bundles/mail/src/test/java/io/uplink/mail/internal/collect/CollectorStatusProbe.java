package io.uplink.mail.internal.collect;

import io.uplink.api.mail.MailTaskStatus;

import java.util.HashMap;
import java.util.Map;

/** For tests in other packages: the status of a collector built from cfg-like properties. */
public final class CollectorStatusProbe {

    private CollectorStatusProbe() {
    }

    public static MailTaskStatus status(String id, String... keyValues) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.pid", "io.uplink.collector~" + id);
        p.put("felix.fileinstall.filename", "file:/etc/io.uplink.collector-" + id + ".cfg");
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put(keyValues[i], keyValues[i + 1]);
        }
        return new MailCollectorComponent(p).status();
    }
}
