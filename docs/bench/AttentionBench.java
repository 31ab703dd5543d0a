import io.lowrank.worker.tensor.*;
/** attention forward + backward at a preset's shapes through the backend, median of N (default 15) after 3 warm-up (ms).
 *  args: batch seq heads head_dim [N] */
public class AttentionBench {
    public static void main(String[] a) {
        int batch = Integer.parseInt(a[0]), seq = Integer.parseInt(a[1]), heads = Integer.parseInt(a[2]), hd = Integer.parseInt(a[3]);
        int d = heads * hd, rows = batch * seq, reps = a.length > 4 ? Integer.parseInt(a[4]) : 15;
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2)) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(1);
            Tensor q = be.allocate(rows, d), k = be.allocate(rows, d), v = be.allocate(rows, d), g = be.allocate(rows, d);
            for (Tensor t : new Tensor[]{q, k, v, g}) for (int i = 0; i < t.size; i++) t.set(i, r.nextDouble() - 0.5);
            Tensor probs = be.allocate(batch, heads, seq, seq), out = be.allocate(rows, d);
            Tensor dq = be.allocate(rows, d), dk = be.allocate(rows, d), dv = be.allocate(rows, d);
            double[] fw = new double[reps], bw = new double[reps];
            for (int it = -3; it < reps; it++) {
                long t0 = System.nanoTime();
                be.attention(q, k, v, batch, seq, heads, probs, out);
                long t1 = System.nanoTime();
                be.attentionBackward(q, k, v, probs, g, batch, seq, heads, dq, dk, dv);
                long t2 = System.nanoTime();
                if (it >= 0) { fw[it] = (t1 - t0) / 1e6; bw[it] = (t2 - t1) / 1e6; }
            }
            java.util.Arrays.sort(fw); java.util.Arrays.sort(bw);
            System.out.printf("attention b%d s%d h%d hd%d: forward %.2f ms, backward %.2f ms%n", batch, seq, heads, hd, fw[reps / 2], bw[reps / 2]);
        }
    }
}
