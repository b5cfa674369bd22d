package io.uplink.web.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.io.IOException;
import java.util.Map;
import java.util.regex.Pattern;

import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.http.context.ServletContextHelper;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web context {@code /uplink}: every request, page and API, needs a Karaf user with the read role
 * (HTTP Basic against the JAAS realm); the user and whether they may fire travel in request attributes.
 */
@Component(service = ServletContextHelper.class, immediate = true, configurationPid = UplinkContext.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {"osgi.http.whiteboard.context.name=" + UplinkContext.NAME,
            "osgi.http.whiteboard.context.path=/uplink"})
@Designate(ocd = WebConfig.class)
public class UplinkContext extends ServletContextHelper {

    static final String NAME = "uplink";
    static final String PID = "io.uplink.web";
    static final String SELECT = "(osgi.http.whiteboard.context.name=" + NAME + ")";
    /** Request attribute: whether the user has the fire role. */
    static final String MAY_FIRE = "io.uplink.web.mayFire";

    private static final Logger LOG = LoggerFactory.getLogger(UplinkContext.class);
    private static final Pattern NAME_PATTERN = Pattern.compile("[A-Za-z0-9._@-]+");

    private volatile WebConfig config;

    @Activate
    public UplinkContext(BundleContext context, WebConfig config, Map<String, Object> properties) {
        super(context.getBundle());
        this.config = checked(config, properties, DEFAULTS);
    }

    @Modified
    void modified(WebConfig config, Map<String, Object> properties) {
        this.config = checked(config, properties, this.config);
    }

    /**
     * The new settings when every key is usable; otherwise one line naming the file and the key, and the
     * settings in force stay (the defaults at first, which let nobody in without the viewer role).
     */
    static WebConfig checked(WebConfig config, Map<String, Object> properties, WebConfig inForce) {
        Settings s = Settings.of("web settings", PID, properties);
        for (String w : s.unknownKeys(Settings.keysOf(WebConfig.class))) {
            LOG.warn("{}: {}", s.item(), w);
        }
        try {
            for (String key : new String[] {"realm", "role.read", "role.fire"}) {
                String v = s.string(key, null);
                if (properties.containsKey(key) && (v == null || !NAME_PATTERN.matcher(v).matches())) {
                    throw s.problem(key, "must be one name (letters, digits, . _ @ -), got '" + (v == null ? "" : v) + "'");
                }
            }
            return config;
        } catch (ConfigException e) {
            LOG.error("{}; the previous web settings stay in force (realm {}, role.read {}, role.fire {})", e.getMessage(),
                    inForce.realm(), inForce.role_read(), inForce.role_fire());
            return inForce;
        }
    }

    /** The metatype defaults, for a first file that cannot be used. */
    private static final WebConfig DEFAULTS = new WebConfig() {
        @Override
        public Class<? extends java.lang.annotation.Annotation> annotationType() {
            return WebConfig.class;
        }

        @Override
        public String realm() {
            return "karaf";
        }

        @Override
        public String role_read() {
            return "viewer";
        }

        @Override
        public String role_fire() {
            return "admin";
        }
    };

    @Override
    public boolean handleSecurity(HttpServletRequest request, HttpServletResponse response) throws IOException {
        WebConfig c = config;
        JaasLogin.User user = JaasLogin.login(c.realm(), request.getHeader("Authorization"));
        if (user == null) {
            response.setHeader("WWW-Authenticate", "Basic realm=\"Uplink\", charset=\"UTF-8\"");
            ApiServlet.send(response, HttpServletResponse.SC_UNAUTHORIZED,
                    JsonViews.error("log in with a Karaf user that has the role '" + c.role_read() + "'"));
            return false;
        }
        if (!user.roles().contains(c.role_read())) {
            ApiServlet.send(response, HttpServletResponse.SC_FORBIDDEN,
                    JsonViews.error("user '" + user.name() + "' lacks the role '" + c.role_read() + "'"));
            return false;
        }
        request.setAttribute(REMOTE_USER, user.name());
        request.setAttribute(AUTHENTICATION_TYPE, HttpServletRequest.BASIC_AUTH);
        request.setAttribute(MAY_FIRE, user.roles().contains(c.role_fire()));
        request.setAttribute(MAY_FIRE + ".role", c.role_fire());
        return true;
    }
}
