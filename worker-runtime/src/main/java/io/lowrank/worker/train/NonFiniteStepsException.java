package io.lowrank.worker.train;

/**
 * The run stopped because {@code train.max_skipped_steps} optimizer steps in a row had a
 * non-finite gradient norm or loss. Every worker throws it at the same step (the decision is taken
 * on the all-reduced gradient), so a distributed run stops consistently; retrying would meet the
 * same numbers again, so drivers report it instead of retrying.
 */
public final class NonFiniteStepsException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public final long step;
    public final double lr;
    public final String firstTensors;

    NonFiniteStepsException(String message, long step, double lr, String firstTensors) {
        super(message);
        this.step = step;
        this.lr = lr;
        this.firstTensors = firstTensors;
    }
}
