package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

/**
 * cos/sin tables of the rotary embedding, [seqLen, headDim/2]:
 * angle(t, i) = t / theta^(2i/headDim), the Hugging Face LLaMA inv_freq convention.
 */
final class RopeTable {
    final Tensor cos, sin;

    RopeTable(Backend be, int seqLen, int headDim, double theta) {
        int half = headDim / 2;
        cos = be.allocate(seqLen, half);
        sin = be.allocate(seqLen, half);
        double[] c = new double[seqLen * half], s = new double[seqLen * half];
        for (int t = 0; t < seqLen; t++) {
            for (int i = 0; i < half; i++) {
                double invFreq = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
                double a = t * invFreq;
                c[t * half + i] = Math.cos(a);
                s[t * half + i] = Math.sin(a);
            }
        }
        be.copyFromHost(c, cos);
        be.copyFromHost(s, sin);
    }
}
