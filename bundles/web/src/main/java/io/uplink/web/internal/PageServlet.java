package io.uplink.web.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.osgi.service.component.annotations.Component;

/**
 * The status page {@code /uplink/}: three files from this bundle, nothing from elsewhere (the machine may be
 * offline). A servlet rather than a whiteboard resource so {@code /uplink/} itself is the page.
 */
@Component(service = Servlet.class, immediate = true, property = {
    "osgi.http.whiteboard.servlet.pattern=/",
    "osgi.http.whiteboard.servlet.name=uplink-page",
    "osgi.http.whiteboard.context.select=" + UplinkContext.SELECT})
public class PageServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    private static final Map<String, String> FILES = Map.of(
            "/", "text/html",
            "/index.html", "text/html",
            "/app.js", "text/javascript",
            "/app.css", "text/css");

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getServletPath() + (req.getPathInfo() == null ? "" : req.getPathInfo());
        if (path.isEmpty()) {
            path = "/";
        }
        String type = FILES.get(path);
        if (type == null) {
            resp.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        String file = path.equals("/") ? "/index.html" : path;
        try (InputStream in = PageServlet.class.getResourceAsStream("/web" + file)) {
            if (in == null) {
                resp.sendError(HttpServletResponse.SC_NOT_FOUND);
                return;
            }
            byte[] bytes = in.readAllBytes();
            resp.setContentType(type);
            resp.setCharacterEncoding("UTF-8");
            resp.setHeader("Cache-Control", "no-cache");
            resp.setHeader("X-Content-Type-Options", "nosniff");
            resp.setHeader("X-Frame-Options", "DENY");
            resp.setHeader("Content-Security-Policy",
                    "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'");
            resp.setContentLength(bytes.length);
            resp.getOutputStream().write(bytes);
        }
    }
}
