package io.uplink.core.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.apache.felix.utils.properties.InterpolationHelper;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link ConfigReconciler} over FileInstall's folder: every {@link #INTERVAL} (or {@code config.recheck} if
 * shorter), and {@link #SETTLE} after the last change of an Uplink configuration (so a burst is looked at once it is
 * over).
 */
@Component(immediate = true, service = ConfigurationListener.class,
        configurationPid = ConnectionServiceComponent.CORE_PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class ConfigReconcilerComponent implements ConfigurationListener {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigReconcilerComponent.class);
    static final Duration INTERVAL = Duration.ofSeconds(15);
    static final Duration SETTLE = Duration.ofSeconds(3);
    static final String FILENAME = "felix.fileinstall.filename";

    static final Duration RECHECK = Duration.ofMinutes(5);

    private final ScheduledExecutorService timer;
    private final ConfigReconciler reconciler;
    private Duration recheck = RECHECK;
    private ScheduledFuture<?> next;
    private ScheduledFuture<?> periodic;

    @Activate
    public ConfigReconcilerComponent(@Reference ConfigurationAdmin configAdmin, BundleContext context,
            Map<String, Object> properties) {
        String d = context.getProperty("felix.fileinstall.dir");
        if (d == null) {
            d = System.getProperty("karaf.etc");
        }
        if (d == null) {
            LOG.info("no FileInstall folder (felix.fileinstall.dir) is set: Uplink does not compare files with configurations");
            timer = null;
            reconciler = null;
            return;
        }
        Path dir = canonical(Path.of(d));
        InterpolationHelper.SubstitutionCallback cb = new InterpolationHelper.BundleContextSubstitutionCallback(context);
        reconciler = new ConfigReconciler(dir, new AdminLive(configAdmin, dir), System::nanoTime, SETTLE,
                (name, key, value) -> cb.getValue(value), LOG::warn);
        String encoding = context.getProperty("felix.fileinstall.configEncoding");
        if (encoding != null) {
            try {
                reconciler.encoding(java.nio.charset.Charset.forName(encoding));
            } catch (IllegalArgumentException e) {
                LOG.debug("unknown felix.fileinstall.configEncoding {}: {}", encoding, e.toString());
            }
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "uplink-config-rescan");
            t.setDaemon(true);
            return t;
        });
        modified(properties);
        schedule(SETTLE.toNanos());
    }

    /** {@code config.recheck} of {@code etc/io.uplink.core.cfg}; a bad value is reported by the core settings. */
    @Modified
    synchronized void modified(Map<String, Object> properties) {
        if (reconciler == null) {
            return;
        }
        Duration every;
        try {
            every = Settings.of("core settings", ConnectionServiceComponent.CORE_PID, properties)
                    .duration("config.recheck", RECHECK);
        } catch (ConfigException e) {
            every = recheck; // the one line naming file and key comes from the core settings
        }
        recheck = every;
        reconciler.recheckEvery(every);
        // the cheap look at sizes and times runs every INTERVAL, or as often as every file is to be read again
        long period = every.isZero() ? INTERVAL.toMillis() : Math.max(100, Math.min(INTERVAL.toMillis(), every.toMillis()));
        if (periodic != null) {
            periodic.cancel(false);
        }
        periodic = timer.scheduleWithFixedDelay(this::pass, period, period, TimeUnit.MILLISECONDS);
    }

    private static Path canonical(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    @Deactivate
    synchronized void deactivate() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    @Override
    public void configurationEvent(ConfigurationEvent event) {
        if (reconciler == null || !uplink(event.getPid()) && !uplink(event.getFactoryPid())) {
            return;
        }
        reconciler.configurationChanged();
        schedule(SETTLE.toNanos());
    }

    private static boolean uplink(String pid) {
        return pid != null && pid.startsWith("io.uplink.");
    }

    /** A pass after this many nanoseconds, unless one is already due sooner (it reschedules itself if need be). */
    private synchronized void schedule(long nanos) {
        if (timer.isShutdown()) {
            return;
        }
        if (next != null && !next.isDone() && next.getDelay(TimeUnit.NANOSECONDS) <= nanos) {
            return;
        }
        if (next != null) {
            next.cancel(false);
        }
        next = timer.schedule(this::pass, nanos + TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.NANOSECONDS);
    }

    private void pass() {
        try {
            long wait = reconciler.pass();
            if (wait >= 0) {
                schedule(wait);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("comparing etc/ with the live configurations failed: {}", e.toString());
        }
    }

    /** ConfigurationAdmin as the reconciler sees it: the configurations FileInstall stamped with a file of the folder. */
    static final class AdminLive implements ConfigReconciler.Live {

        private final ConfigurationAdmin configAdmin;
        private final Path dir;

        AdminLive(ConfigurationAdmin configAdmin, Path dir) {
            this.configAdmin = configAdmin;
            this.dir = dir;
        }

        @Override
        public Map<String, Map<String, Object>> byFile() throws IOException {
            Map<String, Map<String, Object>> out = new HashMap<>();
            Configuration[] all;
            try {
                all = configAdmin.listConfigurations("(" + FILENAME + "=*)");
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
            if (all == null) {
                return out;
            }
            for (Configuration c : all) {
                Dictionary<String, Object> props = c.getProperties();
                Path file = props == null ? null : fileOf(props.get(FILENAME));
                if (file != null && ConfigReconciler.FILES.matcher(file.getFileName().toString()).matches()
                        && inDir(file)) {
                    out.put(file.getFileName().toString(), toMap(props));
                }
            }
            return out;
        }

        /** In the folder, also when the stamp names it through a link (Karaf's config commands do not resolve them). */
        private boolean inDir(Path file) {
            Path parent = file.getParent();
            return dir.equals(parent) || parent != null && dir.equals(canonical(parent));
        }

        private static Path fileOf(Object stamp) {
            try {
                return stamp == null ? null : Path.of(URI.create(stamp.toString()));
            } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
                return null;
            }
        }

        private static Map<String, Object> toMap(Dictionary<String, Object> d) {
            Map<String, Object> m = new HashMap<>();
            for (Enumeration<String> keys = d.keys(); keys.hasMoreElements();) {
                String k = keys.nextElement();
                m.put(k, d.get(k));
            }
            return m;
        }

        /** As FileInstall's ConfigInstaller: the configuration stamped with the file, else a new one named by it. */
        @Override
        public void apply(Path file, Map<String, Object> properties) throws IOException {
            String stamp = stampOf(file);
            Configuration config;
            try {
                Configuration[] found = configAdmin.listConfigurations("(" + FILENAME + "=" + escape(stamp) + ")");
                if (found != null && found.length > 0) {
                    config = configAdmin.getConfiguration(found[0].getPid(), null);
                } else {
                    String[] pid = ConfigReconciler.pidOf(file.getFileName().toString());
                    config = pid[1] != null ? configAdmin.getFactoryConfiguration(pid[0], pid[1], "?")
                            : configAdmin.getConfiguration(pid[0], "?");
                }
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
            Hashtable<String, Object> ht = new Hashtable<>(properties);
            ht.put(FILENAME, stamp);
            config.update(ht);
        }

        /** The stamp FileInstall puts on a file's configuration, so that its later edits still map to it. */
        static String stampOf(Path file) {
            return new File(file.toString()).getAbsoluteFile().toURI().toString();
        }

        private static String escape(String s) {
            StringBuilder b = new StringBuilder();
            for (char c : s.toCharArray()) {
                if (c == '(' || c == ')' || c == '*' || c == '\\') {
                    b.append('\\');
                }
                b.append(c);
            }
            return b.toString();
        }
    }
}
