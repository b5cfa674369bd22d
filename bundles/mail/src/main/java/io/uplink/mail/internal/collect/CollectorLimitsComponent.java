package io.uplink.mail.internal.collect;

import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

/** Reads {@code maxSessionsPerHost} from {@code etc/io.uplink.mail.cfg} into {@link HostSessions}. */
@Component(configurationPid = "io.uplink.mail", configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true,
        service = {})
public final class CollectorLimitsComponent {

    private static final Logger LOG = LoggerFactory.getLogger(CollectorLimitsComponent.class);

    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        Settings s = Settings.of("mail settings", "io.uplink.mail", properties);
        try {
            HostSessions.shared().setLimit(s.integer("maxSessionsPerHost", HostSessions.DEFAULT_LIMIT, 1, 1000));
        } catch (ConfigException e) {
            LOG.error("{}; using {}", e.getMessage(), HostSessions.DEFAULT_LIMIT);
            HostSessions.shared().setLimit(HostSessions.DEFAULT_LIMIT);
        }
    }

    @Deactivate
    void deactivate() {
        HostSessions.shared().setLimit(HostSessions.DEFAULT_LIMIT);
    }
}
