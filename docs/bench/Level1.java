// Backend level-1 ops against raw OpenBLAS level 1 / memset on 42.8M floats (the 60m CoLA parameter count).
// Run against worker-runtime classes from before commit "float32 element-wise through OpenBLAS level 1" it
// compared the FloatBuffer Java loops with BLAS (docs/bench/2026-11-26-level1.txt); after it both sides are BLAS.
import io.lowrank.worker.tensor.*;
import org.bytedeco.javacpp.FloatPointer;
import static org.bytedeco.openblas.global.openblas_nolapack.*;
public class Level1 {
    public static void main(String[] a) throws Exception {
        int n = 42_770_944;
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2)) {
            Tensor x = be.allocate(n), y = be.allocate(n);
            for (int i = 0; i < n; i += 1) { x.set(i, (i % 97) * 0.01 - 0.3); y.set(i, (i % 89) * 0.02 - 0.5); }
            java.lang.reflect.Field sf = Tensor.class.getDeclaredField("storage"); sf.setAccessible(true);
            Object st = sf.get(x); java.lang.reflect.Field ff = st.getClass().getDeclaredField("f"); ff.setAccessible(true);
            FloatPointer px = new FloatPointer((java.nio.FloatBuffer) ff.get(st));
            FloatPointer py = new FloatPointer((java.nio.FloatBuffer) ff.get(sf.get(y)));
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime(); double s1 = be.sumOfSquares(x); long t1 = System.nanoTime();
                double s2 = cblas_dsdot(n, px, 1, px, 1); long t2 = System.nanoTime();
                be.axpy(0.5, x, y); long t3 = System.nanoTime();
                cblas_saxpy(n, 0.5f, px, 1, py, 1); long t4 = System.nanoTime();
                be.scale(y, 0.999); long t5 = System.nanoTime();
                cblas_sscal(n, 0.999f, py, 1); long t6 = System.nanoTime();
                be.fill(y, 0.0); long t7 = System.nanoTime();
                org.bytedeco.javacpp.Pointer.memset(py, 0, 4L * n); long t8 = System.nanoTime();
                System.out.printf("sumsq java %.1f ms blas-dsdot %.1f ms (rel diff %.1e) | axpy %.1f vs %.1f | scale %.1f vs %.1f | fill %.1f vs memset %.1f%n",
                    (t1-t0)/1e6, (t2-t1)/1e6, Math.abs(s1-s2)/s1, (t3-t2)/1e6, (t4-t3)/1e6, (t5-t4)/1e6, (t6-t5)/1e6, (t7-t6)/1e6, (t8-t7)/1e6);
            }
        }
    }
}
