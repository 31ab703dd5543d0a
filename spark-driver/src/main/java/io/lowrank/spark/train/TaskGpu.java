package io.lowrank.spark.train;

import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.Option;

import java.util.Arrays;

/**
 * The GPU Spark gave a training task ({@code spark.task.resource.gpu.amount}, addresses from the
 * executor's discovery script, e.g. deploy/gpu/discover-gpus.sh) as the CUDA device ordinal the
 * task's backend binds to. One worker per GPU: a task given several addresses uses the first.
 */
final class TaskGpu {
    /** The Spark resource name of GPUs. */
    static final String RESOURCE = "gpu";

    /** The address Spark assigned (null: none, e.g. a local master, which schedules no GPUs). */
    final String address;
    /** Every address assigned to the task (empty when none). */
    final String[] addresses;
    /** The CUDA device ordinal of {@link #address}; the worker's rank when Spark assigned none. */
    final int deviceOrdinal;

    private TaskGpu(String[] addresses, int deviceOrdinal) {
        this.addresses = addresses;
        this.address = addresses.length == 0 ? null : addresses[0];
        this.deviceOrdinal = deviceOrdinal;
    }

    static TaskGpu of(TaskContext ctx, int rank) {
        Option<ResourceInformation> gpu = ctx.resources().get(RESOURCE);
        if (gpu.isEmpty() || gpu.get().addresses().length == 0) return new TaskGpu(new String[0], rank);
        String[] addresses = gpu.get().addresses();
        return new TaskGpu(addresses, ordinal(addresses[0], System.getenv("CUDA_VISIBLE_DEVICES")));
    }

    /**
     * The CUDA device ordinal of a GPU address. With CUDA_VISIBLE_DEVICES set (the container
     * runtime's list, which the discovery script reports), CUDA numbers the visible devices 0, 1, ...
     * in that order, so the ordinal is the address's position in the list; without it, a numeric
     * address is the ordinal (nvidia-smi's index).
     */
    static int ordinal(String address, String cudaVisibleDevices) {
        if (cudaVisibleDevices != null && !cudaVisibleDevices.isBlank()) {
            String[] visible = cudaVisibleDevices.replace(" ", "").split(",");
            int i = Arrays.asList(visible).indexOf(address.trim());
            if (i < 0) {
                throw new IllegalStateException("Spark assigned GPU address " + address + " but CUDA_VISIBLE_DEVICES=" + cudaVisibleDevices
                        + " does not list it: the discovery script and the container disagree about the GPUs this executor may use");
            }
            return i;
        }
        try {
            int o = Integer.parseInt(address.trim());
            if (o < 0) throw new NumberFormatException();
            return o;
        } catch (NumberFormatException e) {
            throw new IllegalStateException("Spark assigned GPU address '" + address + "', which is not a device index; with "
                    + "non-numeric addresses (GPU UUIDs) set CUDA_VISIBLE_DEVICES to the same list so that its position gives the ordinal");
        }
    }

    @Override
    public String toString() {
        return address == null ? "no GPU from Spark (CUDA device " + deviceOrdinal + " = rank)"
                : "GPU address " + address + " (CUDA device " + deviceOrdinal + ")" + (addresses.length > 1 ? " of " + Arrays.toString(addresses) : "");
    }
}
