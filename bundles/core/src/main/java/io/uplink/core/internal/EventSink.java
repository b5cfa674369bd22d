package io.uplink.core.internal;

import java.util.Map;

/** Where the engine posts its events (EventAdmin in the framework, a list in tests). */
interface EventSink {

    void post(String topic, Map<String, Object> properties);

    EventSink NONE = (topic, properties) -> { };
}
