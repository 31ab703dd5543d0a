import static org.bytedeco.openblas.global.openblas_nolapack.*;

/** Cost of OpenBLAS's blas_set_num_threads(1) and back (what the backend's per-head attention did
 *  around every attention call), 2000 pairs per line. args: none. */
public class BlasThreadSwitch {
    public static void main(String[] a) {
        org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 2000; i++) {
                blas_set_num_threads(1);
                blas_set_num_threads(2);
            }
            System.out.printf("%.2f us per set pair%n", (System.nanoTime() - t0) / 2000 / 1e3);
        }
    }
}
