package io.lowrank.worker.train;

import io.lowrank.worker.model.LlamaModel;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;

/**
 * The eval/grad window contract of DESIGN.md: a token sequence is cut into non-overlapping windows
 * of seqLen+1 tokens (input = first seqLen, targets = the next token), the remainder dropped; the
 * loss is the mean over all target tokens of all windows. Windows run in batches of up to
 * {@code batch}; the gradient (optional) is of that same mean loss.
 */
public final class WindowedLoss {
    public final double lossSum;
    public final long tokens;

    private WindowedLoss(double lossSum, long tokens) {
        this.lossSum = lossSum;
        this.tokens = tokens;
    }

    public double mean() { return lossSum / tokens; }

    public static long windows(int tokenCount, int seqLen) { return tokenCount / (seqLen + 1); }

    /** With withGrad, parameter gradients are zeroed and then hold d(mean loss)/d(param). */
    public static WindowedLoss compute(Backend be, ModelConfig c, ParameterStore params, int[] tokens, int seqLen,
                                       int batch, boolean withGrad) {
        return compute(be, c, params, tokens, seqLen, batch, withGrad, false);
    }

    /** elasSparse: ELAS's 2:4 activation sparsity on, as the trainer's forward after its dense warm-up. */
    public static WindowedLoss compute(Backend be, ModelConfig c, ParameterStore params, int[] tokens, int seqLen,
                                       int batch, boolean withGrad, boolean elasSparse) {
        int windowLen = seqLen + 1;
        int windows = (int) windows(tokens.length, seqLen);
        if (windows == 0) {
            throw new IllegalArgumentException(tokens.length + " tokens are fewer than one window of seq_len+1 = " + windowLen);
        }
        batch = Math.min(batch, windows);
        long totalTargets = (long) windows * seqLen;
        double gradScale = withGrad ? 1.0 / totalTargets : 0.0;
        if (withGrad) be.fill(params.grads(), 0.0);
        LlamaModel full = new LlamaModel(be, c, params, batch, seqLen);
        LlamaModel rest = windows % batch == 0 ? null : new LlamaModel(be, c, params, windows % batch, seqLen);
        full.switches().setSparseActivations(elasSparse);
        if (rest != null) rest.switches().setSparseActivations(elasSparse);
        int[] win = new int[batch * windowLen], in = new int[batch * seqLen], tg = new int[batch * seqLen];
        int[] winR = null, inR = null, tgR = null;
        if (rest != null) {
            int r = rest.batch();
            winR = new int[r * windowLen];
            inR = new int[r * seqLen];
            tgR = new int[r * seqLen];
        }
        double lossSum = 0;
        long count = 0;
        for (int w = 0; w < windows; ) {
            boolean whole = windows - w >= batch;
            LlamaModel model = whole ? full : rest;
            int[] wi = whole ? win : winR, ii = whole ? in : inR, ti = whole ? tg : tgR;
            System.arraycopy(tokens, w * windowLen, wi, 0, wi.length);
            Batches.split(wi, model.batch(), seqLen, ii, ti);
            double[] r = model.forward(ii, ti, gradScale);
            if (withGrad) model.backward();
            lossSum += r[0];
            count += (long) r[1];
            w += model.batch();
        }
        return new WindowedLoss(lossSum, count);
    }
}
