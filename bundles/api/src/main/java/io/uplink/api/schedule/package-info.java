/**
 * The schedule: items that fire connections on time, pause and resume, and the forecast of next firings.
 */
@Version("1.1.0")
@Export
package io.uplink.api.schedule;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
