package io.uplink.scheduler.internal;

import java.util.Map;

import org.osgi.service.component.ComponentConstants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import io.uplink.api.config.Settings;

/**
 * One schedule item ({@code etc/io.uplink.schedule-<id>.cfg}). Hands its configuration to the schedule on
 * activation and on every change, and takes it back when the file is deleted.
 */
@Component(configurationPid = ScheduleItem.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = {})
@Designate(ocd = ScheduleItemComponent.Config.class, factory = true)
public final class ScheduleItemComponent {

    @ObjectClassDefinition(name = "Uplink schedule item",
            description = "Fires connections on time (every/between/days, at/days or a Quartz cron), or denies firings in a window.")
    @interface Config {
        @AttributeDefinition(description = "'default', connection ids, or 'deny'")
        String connections();

        @AttributeDefinition(required = false, description = "Interval such as 15m, 1h, 30s")
        String every();

        @AttributeDefinition(required = false, description = "Window such as 08:00-18:00 (may span midnight)")
        String between();

        @AttributeDefinition(required = false, description = "Days such as MON-FRI or SAT,SUN")
        String days();

        @AttributeDefinition(required = false, description = "Times such as 07:30, 12:00")
        String at();

        @AttributeDefinition(required = false, description = "Quartz cron: sec min hour day-of-month month day-of-week [year]")
        String cron();

        @AttributeDefinition(required = false, description = "Time zone such as Europe/London; default the system's")
        String timezone();

        @AttributeDefinition(required = false, description = "Only fire when at least this many messages wait")
        int minWaiting() default 0;

        @AttributeDefinition(required = false, description = "false keeps the item without firing")
        boolean enabled() default true;
    }

    private final ScheduleComponent schedule;
    private String id;

    @Activate
    public ScheduleItemComponent(@Reference ScheduleComponent schedule, Map<String, Object> properties) {
        this.schedule = schedule;
        apply(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        apply(properties);
    }

    private void apply(Map<String, Object> properties) {
        Settings s = Settings.of(ScheduleItem.KIND, ScheduleItem.FACTORY_PID, properties);
        if (id != null && !id.equals(s.id())) {
            schedule.remove(id, false);
        }
        id = s.id();
        schedule.put(s);
    }

    @Deactivate
    void deactivate(int reason) {
        schedule.remove(id, reason == ComponentConstants.DEACTIVATION_REASON_CONFIGURATION_DELETED);
    }
}
