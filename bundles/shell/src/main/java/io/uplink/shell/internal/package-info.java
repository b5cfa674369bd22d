/**
 * Karaf shell commands: {@code connection:*} (subpackage {@code connection}), {@code outbox:*},
 * {@code schedule:*}, {@code sender:*} and {@code collector:*}, found through the bundle's {@code Karaf-Commands} header. Not exported.
 */
package io.uplink.shell.internal;
