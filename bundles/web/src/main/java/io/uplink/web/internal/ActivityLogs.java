package io.uplink.web.internal;

import java.util.List;

/** The activity log files, as the {@code connection:log} command reads them (a service inside this bundle). */
public interface ActivityLogs {

    /** The last {@code limit} lines of a connection's activity log, oldest first. */
    List<String> tail(String connection, int limit);
}
