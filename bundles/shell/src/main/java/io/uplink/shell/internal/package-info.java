/**
 * Karaf shell commands: {@code connection:*} (subpackage {@code connection}), {@code outbox:*} and
 * {@code schedule:*}, found through the bundle's {@code Karaf-Commands} header. Not exported.
 */
package io.uplink.shell.internal;
