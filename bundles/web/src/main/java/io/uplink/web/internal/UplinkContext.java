package io.uplink.web.internal;

import java.io.IOException;

import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.http.context.ServletContextHelper;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The web context {@code /uplink}: every request, page and API, needs a Karaf user with the read role
 * (HTTP Basic against the JAAS realm); the user and whether they may fire travel in request attributes.
 */
@Component(service = ServletContextHelper.class, immediate = true, configurationPid = "io.uplink.web",
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {"osgi.http.whiteboard.context.name=" + UplinkContext.NAME,
            "osgi.http.whiteboard.context.path=/uplink"})
@Designate(ocd = WebConfig.class)
public class UplinkContext extends ServletContextHelper {

    static final String NAME = "uplink";
    static final String SELECT = "(osgi.http.whiteboard.context.name=" + NAME + ")";
    /** Request attribute: whether the user has the fire role. */
    static final String MAY_FIRE = "io.uplink.web.mayFire";

    private volatile WebConfig config;

    @Activate
    public UplinkContext(BundleContext context, WebConfig config) {
        super(context.getBundle());
        this.config = config;
    }

    @Modified
    void modified(WebConfig config) {
        this.config = config;
    }

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
