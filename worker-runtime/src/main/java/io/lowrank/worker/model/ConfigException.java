package io.lowrank.worker.model;

/** An invalid configuration value, rejected before any work starts. Names the offending field. */
public final class ConfigException extends IllegalArgumentException {
    public final String field;

    public ConfigException(String field, String problem) {
        super("config field '" + field + "': " + problem);
        this.field = field;
    }
}
