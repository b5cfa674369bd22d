package io.uplink.api.config;

/**
 * A configuration value that cannot be used. The message always names the item (for example
 * {@code connection 'office'}), the file it came from and the key, and says what is expected.
 */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String item;
    private final String file;
    private final String key;
    private final String detail;

    public ConfigException(String item, String file, String key, String detail) {
        super(format(item, file, key, detail));
        this.item = item;
        this.file = file;
        this.key = key;
        this.detail = detail;
    }

    private static String format(String item, String file, String key, String detail) {
        StringBuilder b = new StringBuilder();
        b.append(item);
        if (file != null) {
            b.append(" (").append(file).append(')');
        }
        if (key != null) {
            b.append(", key '").append(key).append('\'');
        }
        return b.append(": ").append(detail).toString();
    }

    /** The item the value belongs to, for example {@code connection 'office'}. */
    public String item() {
        return item;
    }

    /** The configuration file name, or a description of where the configuration came from. */
    public String file() {
        return file;
    }

    /** The offending key, or {@code null} when the problem is not tied to one key. */
    public String key() {
        return key;
    }

    /** What is wrong, without the item, file and key. */
    public String detail() {
        return detail;
    }
}
