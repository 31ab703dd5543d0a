package io.lowrank.spark.prepare;

/**
 * A prepare failure caused by the inputs or the settings (missing path, unknown format, too few
 * tokens, too many malformed records...). The message names the path, field or value; the CLI
 * prints it without a stack trace.
 */
public class PrepareException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PrepareException(String message) {
        super(message);
    }

    public PrepareException(String message, Throwable cause) {
        super(message, cause);
    }
}
