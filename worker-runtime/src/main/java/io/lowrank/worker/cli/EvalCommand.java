package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.HostTensor;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.checkpoint.Safetensors;
import io.lowrank.worker.data.TokenFiles;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.train.WindowedLoss;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * eval and grad over a token file, per the window contract of DESIGN.md: non-overlapping windows of
 * seq_len+1 tokens (input = first seq_len, targets = the next token), remainder dropped, loss =
 * mean over all target tokens of all windows.
 */
final class EvalCommand {
    private static final Set<String> OPTIONS = Set.of("model", "tokens", "seq-len", "batch", "dtype", "threads", "out");
    private static final ObjectMapper JSON = new ObjectMapper();

    static int eval(String[] argv) throws Exception {
        Args a = new Args("eval", argv, 1, OPTIONS, Set.of());
        try (Backend be = backend(a)) {
            Loaded m = load(be, a);
            WindowedLoss p = pass(m, be, false);
            double loss = p.lossSum / p.tokens;
            ObjectNode out = JSON.createObjectNode();
            out.put("loss", loss).put("ppl", Math.exp(loss)).put("tokens", p.tokens);
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }

    static int grad(String[] argv) throws Exception {
        Args a = new Args("grad", argv, 1, OPTIONS, Set.of());
        Path outFile = Path.of(a.required("out"));
        try (Backend be = backend(a)) {
            Loaded m = load(be, a);
            WindowedLoss p = pass(m, be, true);
            LinkedHashMap<String, HostTensor> grads = new LinkedHashMap<>();
            for (ParameterStore.Param prm : m.params.params()) grads.put(prm.name, ModelCheckpoint.toHost(prm.grad));
            Safetensors.write(outFile, grads, Map.of("loss", Double.toString(p.lossSum / p.tokens), "tokens", Long.toString(p.tokens)));
            double loss = p.lossSum / p.tokens;
            ObjectNode out = JSON.createObjectNode();
            out.put("loss", loss).put("ppl", Math.exp(loss)).put("tokens", p.tokens).put("out", outFile.toString())
                    .put("tensors", grads.size());
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }

    static Backend backend(Args a) {
        DType dt = DType.parse(a.get("dtype") == null ? "float32" : a.get("dtype"));
        return new Nd4jCpuBackend(dt, a.intValue("threads", Runtime.getRuntime().availableProcessors()));
    }

    static final class Loaded {
        ModelConfig config;
        ParameterStore params;
        int[] tokens;
        int seqLen, batch;
    }

    static Loaded load(Backend be, Args a) throws Exception {
        Loaded m = new Loaded();
        Path dir = Path.of(a.required("model"));
        m.config = ModelCheckpoint.readConfig(dir);
        m.params = new ParameterStore(be, ModelLayout.of(m.config));
        ModelCheckpoint.loadWeights(dir, m.params);
        Path tokens = Path.of(a.required("tokens"));
        m.tokens = TokenFiles.read(tokens, m.config.vocabSize);
        m.seqLen = a.intValue("seq-len", -1);
        if (m.seqLen <= 0) throw new IllegalArgumentException("--seq-len must be a positive integer");
        if (m.seqLen > m.config.maxPositionEmbeddings) {
            throw new IllegalArgumentException("--seq-len " + m.seqLen + " exceeds max_position_embeddings " + m.config.maxPositionEmbeddings + " of " + dir);
        }
        if (WindowedLoss.windows(m.tokens.length, m.seqLen) == 0) {
            throw new IllegalArgumentException(tokens + " holds " + m.tokens.length + " tokens: fewer than one window of seq_len+1 = " + (m.seqLen + 1));
        }
        m.batch = a.intValue("batch", 8);   // WindowedLoss caps it at the number of windows
        return m;
    }

    static WindowedLoss pass(Loaded m, Backend be, boolean withGrad) {
        return WindowedLoss.compute(be, m.config, m.params, m.tokens, m.seqLen, m.batch, withGrad);
    }
}
