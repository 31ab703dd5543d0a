package io.lowrank.worker.train;

/** Splits windows of seqLen+1 tokens into next-token (input, target) pairs. */
public final class Batches {
    private Batches() {}

    /** windows holds batch rows of seqLen+1 tokens; inputs/targets receive batch rows of seqLen. */
    public static void split(int[] windows, int batch, int seqLen, int[] inputs, int[] targets) {
        for (int b = 0; b < batch; b++) {
            int w = b * (seqLen + 1), o = b * seqLen;
            System.arraycopy(windows, w, inputs, o, seqLen);
            System.arraycopy(windows, w + 1, targets, o, seqLen);
        }
    }
}
