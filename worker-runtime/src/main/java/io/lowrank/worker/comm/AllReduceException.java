package io.lowrank.worker.comm;

/**
 * An all-reduce failed: a peer died or went silent, the peers disagree on what to reduce, or the all-reduce was
 * closed. The message names the rank and endpoint involved and what to do. The all-reduce that threw it is unusable.
 */
public class AllReduceException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public AllReduceException(final String message)
    {
        super(message);
    }

    public AllReduceException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
