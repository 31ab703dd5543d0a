package io.lowrank.worker.model;

/**
 * Behaviour the trainer switches during a run without rebuilding the model. ELAS trains dense for
 * its first optimizer steps, then with 2:4 activation sparsity (methods.md section 6).
 */
public final class ModelSwitches {
    private boolean sparseActivations;

    public boolean sparseActivations() { return sparseActivations; }

    public void setSparseActivations(boolean on) { this.sparseActivations = on; }
}
