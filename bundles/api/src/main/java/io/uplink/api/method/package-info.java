/**
 * SPI for connection methods: how a connection reaches the Internet. A method is an OSGi service of type
 * {@link io.uplink.api.method.ConnectionMethod} with the service property
 * {@code uplink.method=<name>}; a bundle that registers one can be dropped into {@code deploy/} at any time.
 */
@Version("1.0.0")
@Export
package io.uplink.api.method;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
