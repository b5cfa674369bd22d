package io.uplink.cluster.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** {@code etc/io.uplink.cluster.cfg}: this node's part in the cluster. The database is {@code org.ops4j.datasource-uplink.cfg}. */
@ObjectClassDefinition(name = "Uplink cluster node",
        description = "Cluster mode: this node's id and timing. The shared PostgreSQL database is the data source "
                + "dataSourceName=uplink (etc/org.ops4j.datasource-uplink.cfg).")
@interface ClusterConfig {

    @AttributeDefinition(name = "Node id", required = false,
            description = "This node's id in the cluster, unique among the nodes (default: the host name)")
    String node_id() default "";

    @AttributeDefinition(name = "Check-in interval", description = "How often this node checks in (Quartz's "
            + "clusterCheckinInterval and cluster:nodes); a node silent for twice this long is taken for dead and "
            + "its firings are taken over")
    String checkin_interval() default "5s";

    @AttributeDefinition(name = "Fence timeout", description = "How long the database keeps a silent firing's lock "
            + "session (the server's idle_session_timeout on it); its heartbeat runs every third of it")
    String fence_timeout() default "15s";

    @AttributeDefinition(name = "Threads", description = "How many firings this node runs at once (Quartz's "
            + "thread pool); the pool of the data source needs about twice as many sessions")
    int threads() default 10;
}
