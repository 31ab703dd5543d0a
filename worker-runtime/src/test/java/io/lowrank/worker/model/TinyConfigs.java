package io.lowrank.worker.model;

/** Small configurations for numerical tests: odd sizes so that no loop bound hides a bug. */
public final class TinyConfigs {
    private TinyConfigs() {}

    public static ModelConfig of(LayerType type, boolean onlyLrAct) {
        return new ModelConfig(23, 12, 20, 2, 3, 1e-6, 10000.0, 16, type, type == LayerType.FULL ? 0 : 5, onlyLrAct, 0.02);
    }
}
