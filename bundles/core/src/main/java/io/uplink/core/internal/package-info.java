/** The connections, the firing engine, status, history, events and JMX. Not exported. */
package io.uplink.core.internal;
