package io.uplink.core.internal;

import java.util.Map;

/** What a connection's configuration component tells the engine. Internal service of the core bundle. */
public interface ConnectionRegistry {

    /** A connection configuration arrived or changed. */
    void configure(String pid, Map<String, ?> properties);

    /** A connection configuration was deleted. */
    void remove(String pid);
}
