package io.lowrank.worker.cli;

/**
 * Bad usage or configuration found by a command after parsing (a value out of range, options that
 * cannot be combined): exit code 2, and the message names the option or field and what to do.
 */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) { super(message); }
}
