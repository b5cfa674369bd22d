/**
 * Cluster mode: the {@link io.uplink.api.cluster.Cluster} service over PostgreSQL and an embedded, clustered
 * Quartz; fences; {@code cluster:nodes}. Private to this bundle.
 */
package io.uplink.cluster.internal;
