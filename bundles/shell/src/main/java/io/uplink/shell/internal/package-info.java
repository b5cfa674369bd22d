/** Karaf shell commands: connection:*, outbox:*, schedule:*. Not exported. */
package io.uplink.shell.internal;
