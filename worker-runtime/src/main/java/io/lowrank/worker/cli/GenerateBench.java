package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.generate.Sampler;
import io.lowrank.worker.model.InferenceModel;
import io.lowrank.worker.model.Initializer;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import io.lowrank.worker.tensor.Tensor;
import io.lowrank.worker.train.RunConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code bench --suite generate}: inference speed and memory of several families of one preset in
 * one process. Each family has its own backend (so peak bytes are its own) and an
 * {@link InferenceModel} built once; a round is one generation per family in turn (prefill of
 * batch x promptLen random ids, then newTokens - 1 greedy decode steps), so that the families share
 * the machine's load; figures are medians over the timed rounds, after warm-up rounds.
 */
public final class GenerateBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Options(String preset, List<String> layers, int batch, int promptLen, int newTokens, int rounds, int warmup,
                          int threads) {
        public Options {
            if (layers.isEmpty()) throw new IllegalArgumentException("bench --suite generate: --layer names no family");
            if (batch <= 0 || promptLen <= 0 || newTokens <= 1 || rounds <= 0 || warmup < 0 || threads <= 0) {
                throw new IllegalArgumentException("bench --suite generate: --batch, --prompt-len, --steps, --threads must be >= 1, --new-tokens >= 2, --warmup >= 0");
            }
        }
    }

    /** One family's model, timings and sizes. */
    private static final class Family implements AutoCloseable {
        final Backend be;
        final ModelConfig mc;
        final ParameterStore ps;
        final InferenceModel model;
        final Sampler greedy;
        final int[] prompt, next;
        final double[] prefillSeconds, decodeSeconds;
        final long parameterBytes, allocationsAfterBuild;

        Family(Options o, String layer) throws IOException {
            RunConfig rc = RunConfig.load(o.preset(), layer);
            be = new Nd4jCpuBackend(DType.F32, o.threads());
            mc = rc.model(32000);
            if (o.promptLen() + o.newTokens() - 1 > mc.maxPositionEmbeddings) {
                throw new IllegalArgumentException("--prompt-len " + o.promptLen() + " + --new-tokens " + o.newTokens() + " - 1 exceeds max_position_embeddings "
                        + mc.maxPositionEmbeddings + " of preset " + o.preset());
            }
            ps = new ParameterStore(be, ModelLayout.of(mc), false);
            Initializer.initialize(ps, mc, 1);
            parameterBytes = ps.count() * DType.F32.bytes;
            model = new InferenceModel(be, mc, ps, o.batch(), o.promptLen(), o.promptLen() + o.newTokens() - 1, true);
            greedy = new Sampler(Sampler.Options.greedyDecoding(), mc.vocabSize);
            SplittableRandom r = new SplittableRandom(7);
            prompt = new int[o.batch() * o.promptLen()];
            for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(mc.vocabSize);
            next = new int[o.batch()];
            prefillSeconds = new double[o.rounds()];
            decodeSeconds = new double[o.rounds()];
            allocationsAfterBuild = be.memory().allocations();
        }

        /** One generation; records its times as round {@code round} (negative: warm-up). */
        void generate(Options o, int round) {
            long t0 = System.nanoTime();
            Tensor logits = model.prefill(prompt);
            long t1 = System.nanoTime();
            for (int step = 1; step < o.newTokens(); step++) {
                float[] host = be.toHostFloats(logits);
                for (int b = 0; b < o.batch(); b++) next[b] = greedy.next(host, b);
                logits = model.decode(next);
            }
            long t2 = System.nanoTime();
            if (round >= 0) {
                prefillSeconds[round] = (t1 - t0) / 1e9;
                decodeSeconds[round] = (t2 - t1) / 1e9;
            }
        }

        ObjectNode result(Options o) {
            double prefill = BenchCommand.median(prefillSeconds), decode = BenchCommand.median(decodeSeconds);
            ObjectNode j = JSON.createObjectNode();
            j.put("layer", mc.layerType.id)
                    .put("prefill_tokens_per_s", o.batch() * o.promptLen() / prefill)
                    .put("decode_tokens_per_s", o.batch() * (o.newTokens() - 1) / decode)
                    .put("prefill_ms_median", prefill * 1e3)
                    .put("decode_ms_per_step_median", decode * 1e3 / (o.newTokens() - 1))
                    .put("parameters", ps.count())
                    .put("model_bytes", parameterBytes)
                    .put("kv_cache_bytes", model.cacheBytes())
                    .put("peak_bytes", be.memory().peakBytes())
                    .put("allocations_in_timed_rounds", be.memory().allocations() - allocationsAfterBuild);
            return j;
        }

        @Override
        public void close() { be.close(); }
    }

    private GenerateBench() {}

    public static ObjectNode run(Options o, PrintStream out) throws IOException {
        List<Family> families = new ArrayList<>();
        try {
            for (String layer : o.layers()) families.add(new Family(o, layer));
            for (int round = -o.warmup(); round < o.rounds(); round++) {
                for (Family f : families) f.generate(o, round);                // alternate: the families share the load
            }
            ObjectNode res = JSON.createObjectNode();
            res.put("suite", "generate").put("preset", o.preset()).put("batch", o.batch()).put("prompt_len", o.promptLen())
                    .put("new_tokens", o.newTokens()).put("rounds", o.rounds()).put("threads", o.threads())
                    .put("backend", families.get(0).be.describe());
            ArrayNode arr = res.putArray("results");
            ObjectNode full = null;
            for (Family f : families) {
                ObjectNode j = f.result(o);
                arr.add(j);
                if (f.mc.layerType == io.lowrank.worker.model.LayerType.FULL) full = j;
            }
            for (int i = 0; i < arr.size(); i++) {
                ObjectNode j = (ObjectNode) arr.get(i);
                out.printf("%-7s prefill %,9.0f tok/s   decode %,8.1f tok/s   model %,7.1f MB   peak %,7.1f MB%n", j.get("layer").asText(),
                        j.get("prefill_tokens_per_s").asDouble(), j.get("decode_tokens_per_s").asDouble(),
                        j.get("model_bytes").asDouble() / 1e6, j.get("peak_bytes").asDouble() / 1e6);
                if (full != null && j != full) {   // ratios against full-rank, from the same process
                    j.put("prefill_speedup_vs_full", j.get("prefill_tokens_per_s").asDouble() / full.get("prefill_tokens_per_s").asDouble())
                            .put("decode_speedup_vs_full", j.get("decode_tokens_per_s").asDouble() / full.get("decode_tokens_per_s").asDouble())
                            .put("model_bytes_ratio_full_over_this", full.get("model_bytes").asDouble() / j.get("model_bytes").asDouble())
                            .put("peak_bytes_ratio_full_over_this", full.get("peak_bytes").asDouble() / j.get("peak_bytes").asDouble());
                }
            }
            return res;
        } finally {
            for (Family f : families) f.close();
        }
    }
}
