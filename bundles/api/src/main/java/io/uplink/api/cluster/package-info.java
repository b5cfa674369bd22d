/**
 * Cluster mode: several nodes share one PostgreSQL database. The services here exist only on a node that runs in
 * a cluster (feature {@code uplink-cluster}, configuration PID {@code io.uplink.cluster}); a single node has none
 * of them and keeps its state in files.
 */
@Export
@Version("1.1.0")
package io.uplink.api.cluster;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
