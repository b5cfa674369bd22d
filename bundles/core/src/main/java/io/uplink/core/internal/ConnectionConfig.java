package io.uplink.core.internal;

import io.uplink.api.config.ConfigException;
import io.uplink.api.config.Settings;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * A connection's own keys, parsed and checked. The method's keys ({@code <method>.*}) are checked by the
 * method itself when it is installed.
 */
record ConnectionConfig(
        String id,
        String name,
        String method,
        boolean isDefault,
        int order,
        String sender,
        String fallback,
        String postConnect,
        String preDisconnect,
        Duration commandTimeout,
        boolean ignoreExitCode,
        Duration firingTimeout,
        String node,
        Settings settings) {

    static final String FACTORY_PID = "io.uplink.connection";
    static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(60);
    /** The longest a whole firing may take (connect to hang-up) before it stops as on a hang-up. */
    static final Duration DEFAULT_FIRING_TIMEOUT = Duration.ofMinutes(30);
    static final String FIRING_TIMEOUT = "firing.timeout";
    /** In a cluster: the id of the only node that may fire the connection (where its modem is wired). */
    static final String NODE = "node";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /**
     * Parses the keys of one connection.
     *
     * @throws ConfigException naming the file and the key at fault
     */
    static ConnectionConfig parse(Settings s) {
        if (!NAME.matcher(s.id()).matches()) {
            throw s.problem(null, "the id '" + s.id() + "' (from the file name) may hold only letters, digits, '.', '_' and '-'");
        }
        String method = s.required("method");
        if (!NAME.matcher(method).matches()) {
            throw s.problem("method", "must be a method name such as network or dialup, got '" + method + "'");
        }
        String sender = s.string("sender", null);
        if (sender != null && !NAME.matcher(sender).matches()) {
            throw s.problem("sender", "must be the id of a Mail Sender, got '" + sender + "'");
        }
        String fallback = s.string("fallback", null);
        if (fallback != null) {
            if (!NAME.matcher(fallback).matches()) {
                throw s.problem("fallback", "must be the id of another connection, got '" + fallback + "'");
            }
            if (fallback.equals(s.id())) {
                throw s.problem("fallback", "cannot be the connection itself");
            }
        }
        Duration timeout = s.duration("commands.timeout", DEFAULT_COMMAND_TIMEOUT);
        if (timeout.isZero()) {
            throw s.problem("commands.timeout", "must be longer than 0");
        }
        Duration firingTimeout = s.duration(FIRING_TIMEOUT, DEFAULT_FIRING_TIMEOUT);
        if (firingTimeout.isZero() || firingTimeout.isNegative()) {
            throw s.problem(FIRING_TIMEOUT, "must be longer than 0, such as 30m");
        }
        String node = s.string(NODE, null);
        if (node != null && !NAME.matcher(node).matches()) {
            throw s.problem(NODE, "must be the id of a cluster node (node.id of io.uplink.cluster), got '" + node + "'");
        }
        return new ConnectionConfig(
                s.id(),
                s.string("name", s.id()),
                method,
                s.bool("default", false),
                s.integer("order", 0, 0, 1_000_000),
                sender,
                fallback,
                s.string("commands.postConnect", null),
                s.string("commands.preDisconnect", null),
                timeout,
                s.bool("commands.ignoreExitCode", false),
                firingTimeout,
                node,
                s);
    }
}
