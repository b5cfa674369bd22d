package io.uplink.core.internal;

/** JMX view of the connections: {@code io.uplink:type=connections}. */
public interface ConnectionsMBean {

    /** One line per connection: {@code id | name | method | state | last result}. */
    String[] getConnections();

    /** One connection's status as {@code key: value} lines. */
    String status(String id);

    /** Fires a connection; returns the firing id. */
    String fire(String id);

    /** Fires the default connections one after the other; returns the firing ids. */
    String[] fireDefaults();

    /** Hangs a connection up; returns whether there was anything to hang up. */
    boolean hangup(String id);
}
