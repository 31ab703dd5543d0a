package io.lowrank.worker.tensor.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * JNI entry points of {@code liblowrank_cuda.so} (native-kernels/cuda; compiled, not yet run on a
 * GPU) and its loader: {@code -Dlowrank.cuda.path=/abs/liblowrank_cuda.so}, else the jar resource
 * {@value #RESOURCE} extracted to a temporary file. No ND4J or JavaCPP class is involved.
 */
final class CudaNative {
    static final String RESOURCE = "/native/linux-x86_64/liblowrank_cuda.so";
    static final String PATH_PROPERTY = "lowrank.cuda.path";

    /** Status codes of lrc_probe (native-kernels/cuda/cuda_api.h). */
    static final int OK = 0, NO_DRIVER = 1, BAD_DEVICE = 2, NO_CUBLASLT = 3, CUDA_ERROR = 4;

    private static final Object LOCK = new Object();
    private static boolean loaded;

    private CudaNative() {}

    /** Loads the library once; throws naming what is missing. */
    static void load() {
        synchronized (LOCK) {
            if (loaded) return;
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                throw new CudaUnavailableException("the CUDA backend is built for linux-x86_64 only, this is " + os + "/" + arch);
            }
            String override = System.getProperty(PATH_PROPERTY);
            try {
                if (override != null && !override.isEmpty()) {
                    System.load(Path.of(override).toAbsolutePath().toString());
                } else {
                    try (InputStream in = CudaNative.class.getResourceAsStream(RESOURCE)) {
                        if (in == null) {
                            throw new CudaUnavailableException("liblowrank_cuda.so is not in this build (resource " + RESOURCE
                                    + " missing): native-kernels was built without nvcc; build it where nvcc (CUDA 13) is"
                                    + " installed, or set -D" + PATH_PROPERTY + "=/path/to/liblowrank_cuda.so");
                        }
                        Path tmp = Files.createTempFile("liblowrank_cuda", ".so");
                        tmp.toFile().deleteOnExit();
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                        System.load(tmp.toAbsolutePath().toString());
                    }
                }
            } catch (IOException | UnsatisfiedLinkError e) {
                throw new CudaUnavailableException("could not load liblowrank_cuda.so"
                        + (override != null ? " from " + override : "") + ": " + e.getMessage(), e);
            }
            int abi;
            try {
                abi = nAbiVersion();
            } catch (UnsatisfiedLinkError e) {
                throw new CudaUnavailableException("liblowrank_cuda.so has no JNI glue (it was built without jni.h:"
                        + " set JAVA_HOME to a JDK when building native-kernels): " + e.getMessage(), e);
            }
            if (abi != ABI_VERSION) {
                throw new CudaUnavailableException("liblowrank_cuda.so has JNI version " + abi + ", this code needs " + ABI_VERSION
                        + ": the library and the jar come from different builds");
            }
            loaded = true;
        }
    }

    /** The version of native-kernels/cuda/jni/cuda_jni.cpp this class matches. */
    static final int ABI_VERSION = 1;

    static native int nAbiVersion();

    /** "status message": status 0 = driver, device and cuBLASLt usable; message says what was found or is missing. */
    static native String nProbe(int device);

    /** Opens a context (streams, cuBLASLt, workspace) on the device; throws CudaUnavailableException. precision 0 = f32, 1 = bf16. */
    static native long nOpen(int device, int precision);

    static native void nClose(long ctx);

    static native String nDescribe(long ctx);

    static native long nMalloc(long ctx, long bytes);

    static native void nFree(long ctx, long ptr);

    static native void nCopyToDevice(long ctx, long devicePtr, float[] src, int offset, int count);

    static native void nCopyToHost(long ctx, long devicePtr, float[] dst, int offset, int count);

    // ---- operations on device addresses, queued on the context's compute stream ----
    // (native-kernels/cuda/jni/cuda_jni.cu; a failed launch throws IllegalStateException)

    static native void nMemsetZero(long ctx, long ptr, long bytes);

    static native void nCopyDevice(long ctx, long dst, long src, long bytes);

    static native void nSynchronize(long ctx);

    static native void nGemm(long ctx, boolean transA, boolean transB, int m, int n, int k, float alpha,
                             long a, int lda, long b, int ldb, float beta, long c, int ldc);

    static native void nFill(long ctx, long x, float value, long n);

    static native void nAdd(long ctx, long a, long b, long out, long n);

    static native void nAxpy(long ctx, float alpha, long x, long y, long n);

    static native void nScale(long ctx, long x, float alpha, long n);

    static native void nSilu(long ctx, long h, long z, long n);

    static native void nSiluBackward(long ctx, long h, long dz, long dh, long n);

    static native void nGated(long ctx, long gate, long up, long out, long n, boolean siluOnGate);

    static native void nGatedBackward(long ctx, long gate, long up, long dOut, long dGate, long dUp, long n, boolean siluOnGate);

    static native void nReluSquare(long ctx, long x, long y, long n);

    static native void nReluSquareBackward(long ctx, long x, long dy, long dx, long n);

    static native void nPrune24(long ctx, long x, long values, long meta, long tail, int rows, int cols);

    static native void nDecompress24(long ctx, long values, long meta, long tail, long x, int rows, int cols);

    static native void nSpmm24(long ctx, long values, long meta, long tail, long w, long y, int rows, int cols, int n, float beta);

    static native void nSpmm24T(long ctx, long values, long meta, long tail, long g, long dw, int rows, int cols, int n, float beta);

    static native void nRmsNorm(long ctx, long x, long w, long out, long invRms, int rows, int d, float eps);

    static native void nRmsNormBackward(long ctx, long x, long w, long invRms, long dOut, long dx, long dw, int rows, int d);

    static native void nRope(long ctx, long x, long cos, long sin, int rows, int seqLen, int heads, int headDim, boolean inverse);

    static native void nAttention(long ctx, long q, long k, long v, int batch, int seqLen, int heads, int headDim, long probs, long out);

    static native void nAttentionBackward(long ctx, long q, long k, long v, long probs, long dOut, int batch, int seqLen, int heads,
                                          int headDim, long dq, long dk, long dv);

    static native void nEmbedding(long ctx, long table, int[] ids, long out, int n, int dim);

    static native void nEmbeddingBackward(long ctx, long dTable, int[] ids, long dOut, int n, int dim, int vocab);

    static native double nCrossEntropy(long ctx, long logits, int[] targets, int rows, int vocab, int ignoreIndex, float gradScale);

    static native double nSumOfSquares(long ctx, long x, long n);

    static native double nDot(long ctx, long a, long b, long n);

    static native void nAdamw(long ctx, long p, long g, long m, long v, long n, double lr, double beta1, double beta2, double eps,
                              double weightDecay, long step);
}
