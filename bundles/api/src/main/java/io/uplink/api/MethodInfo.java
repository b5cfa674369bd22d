package io.uplink.api;

/**
 * An installed connection method.
 *
 * @param name the method name connections use in {@code method = <name>}
 * @param bundle the symbolic name of the bundle providing it
 * @param version that bundle's version
 * @param description what the method does
 */
public record MethodInfo(String name, String bundle, String version, String description) {
}
