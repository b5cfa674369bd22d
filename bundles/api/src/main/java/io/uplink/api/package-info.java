/**
 * Uplink's public API: Connections, their status and history, firing them, and the events they publish.
 *
 * <p>A <em>Connection</em> says how to reach the Internet (its {@linkplain io.uplink.api.method.ConnectionMethod
 * method}) and ties together one Mail Sender and zero or more Mail Collectors. <em>Firing</em> a connection
 * connects, sends, collects and disconnects.
 */
@Version("1.2.0")
@Export
package io.uplink.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
