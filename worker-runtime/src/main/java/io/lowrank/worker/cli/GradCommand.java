package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.HostTensor;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.checkpoint.Safetensors;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.train.WindowedLoss;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code grad}: the gradient of the mean loss over a token file (the window contract of
 * {@link EvalCommand}) with respect to every parameter, written to one safetensors file (the
 * reference-comparison tool of DESIGN.md).
 */
@Command(name = "grad", description = "gradients of a checkpoint's loss on a token file, to a safetensors file")
public final class GradCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    ModelData options = new ModelData();

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the .safetensors file to write (required)")
    Path outFile;

    @Override
    public Integer call() throws Exception {
        try (Backend be = options.backend()) {
            ModelData.Loaded m = options.load(be);
            WindowedLoss p = m.pass(be, true);
            LinkedHashMap<String, HostTensor> grads = new LinkedHashMap<>();
            for (ParameterStore.Param prm : m.params.params()) grads.put(prm.name, ModelCheckpoint.toHost(be, prm.grad));
            Safetensors.write(outFile, grads, Map.of("loss", Double.toString(p.lossSum / p.tokens), "tokens", Long.toString(p.tokens)));
            double loss = p.lossSum / p.tokens;
            ObjectNode out = JSON.createObjectNode();
            out.put("loss", loss).put("ppl", Math.exp(loss)).put("tokens", p.tokens).put("out", outFile.toString())
                    .put("tensors", grads.size());
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }
}
