/**
 * Reading Uplink's configuration files: typed values whose errors name the file and the key.
 */
@Version("1.1.0")
@Export
package io.uplink.api.config;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
