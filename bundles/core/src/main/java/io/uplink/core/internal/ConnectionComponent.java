package io.uplink.core.internal;

import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One per factory configuration {@code io.uplink.connection} ({@code etc/io.uplink.connection-<id>.cfg}).
 * It only hands its properties to the engine, which checks them: a bad value never fails this component.
 */
@Component(configurationPid = ConnectionConfig.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = ConnectionOcd.class, factory = true)
public class ConnectionComponent {

    private final ConnectionRegistry registry;
    private final String pid;

    @Activate
    public ConnectionComponent(@Reference ConnectionRegistry registry, Map<String, Object> properties) {
        this.registry = registry;
        this.pid = String.valueOf(properties.get("service.pid"));
        registry.configure(pid, properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        registry.configure(pid, properties);
    }

    @Deactivate
    void deactivate() {
        registry.remove(pid);
    }
}
