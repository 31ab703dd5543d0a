import io.lowrank.worker.tensor.*;
public class GemmShapes {
    public static void main(String[] a) {
        try (Backend be = new Nd4jCpuBackend(DType.F32, 2)) {
            int[][] shapes = {{2048,512,128},{2048,512,384},{2048,512,256},{2048,128,512},{2048,384,512},{2048,512,1376},{2048,128,1376},{2048,1376,128},{2048,512,32000},{2048,512,512},{1024,1024,256},{1024,1024,768},{1024,256,1024},{1024,768,1024},{1024,1024,1024}};
            for (int[] s : shapes) {
                int m=s[0], k=s[1], n=s[2];
                Tensor x = be.allocate(m,k), w = be.allocate(k,n), y = be.allocate(m,n);
                be.fill(x, 0.5); be.fill(w, 0.25);
                for (int i=0;i<3;i++) be.matmul(x,false,w,false,y,0.0);
                int reps = (int)Math.max(5, 4e10/(2.0*m*n*k));
                double[] t = new double[reps];
                for (int r=0;r<reps;r++){ long t0=System.nanoTime(); be.matmul(x,false,w,false,y,0.0); t[r]=(System.nanoTime()-t0)/1e9; }
                java.util.Arrays.sort(t);
                System.out.printf("%5d x %5d x %5d : %6.1f GFLOP/s%n", m,k,n, 2.0*m*n*k/t[reps/2]/1e9);
            }
        }
    }
}
