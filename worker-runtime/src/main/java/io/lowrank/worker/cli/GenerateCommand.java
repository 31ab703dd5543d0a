package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.data.TokenFiles;
import io.lowrank.worker.generate.Generation;
import io.lowrank.worker.generate.Sampler;
import io.lowrank.worker.model.InferenceModel;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code generate}: text from a checkpoint. The prompt (text tokenized with the checkpoint's
 * tokenizer, or token ids from a file) is prefilled in one pass, then tokens are decoded one at a
 * time with a KV cache; the text is streamed to stdout as produced, and the last line is JSON.
 */
@Command(name = "generate", description = "text from a checkpoint: prefill the prompt, then decode with a KV cache; JSON last line")
public final class GenerateCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "checkpoint directory, or a run directory: its newest complete step-N/ checkpoint (required)")
    Path model;

    /** Exactly one prompt source. */
    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "the prompt text, tokenized with the checkpoint's tokenizer")
        String text;

        @Option(names = "--prompt-file", paramLabel = "FILE", description = "a UTF-8 file holding the prompt text")
        Path file;

        @Option(names = "--prompt-tokens", paramLabel = "FILE", description = "prompt token ids: .npy (int32/int64/uint16) or a token file; no tokenizer needed")
        Path tokens;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "64", description = "stop after N new tokens (default: ${DEFAULT-VALUE})")
    int maxNewTokens;

    @Option(names = "--greedy", description = "argmax decoding, the same as --temperature 0 (default: sample)")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "sample from softmax(logits / T) (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "sample among the K most likely tokens; 0: all (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "then among the fewest most likely tokens whose probability reaches P; 1: off (default: ${DEFAULT-VALUE})")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "seed of the draws: the same seed gives the same tokens (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "NAME",
            description = "gpt2, gpt2-32k or cl100k, only for checkpoints that record none (default: the checkpoint's)")
    String tokenizer;

    @Option(names = "--threads", paramLabel = "T", description = "compute threads (default: all cores)")
    Integer threads;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "float32", description = "float32 or float64 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Override
    public Integer call() throws Exception {
        run(new Options(model, prompt.text, prompt.file, prompt.tokens, maxNewTokens,
                new Sampler.Options(greedy, temperature, topK, topP, seed), tokenizer,
                threads != null ? threads : Runtime.getRuntime().availableProcessors(), DType.parse(dtype)), System.out, System.err);
        return 0;
    }

    /** The command's options; exactly one of prompt, promptFile, promptTokens. */
    public record Options(Path model, String prompt, Path promptFile, Path promptTokens, int maxNewTokens,
                          Sampler.Options sampling, String tokenizer, int threads, DType dtype) {
        public Options {
            int given = (prompt != null ? 1 : 0) + (promptFile != null ? 1 : 0) + (promptTokens != null ? 1 : 0);
            if (given != 1) throw new IllegalArgumentException("generate: give exactly one of --prompt, --prompt-file, --prompt-tokens (got " + given + ")");
            if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        }
    }

    /** Runs a generation; text to {@code out} as produced, then the JSON line; notes to {@code err}. */
    public static ObjectNode run(Options o, PrintStream out, PrintStream err) throws IOException {
        CheckpointLoader ck = CheckpointLoader.open(o.model(), err);
        TextTokenizer tok = null;
        int eot = -1;
        int[] prompt;
        if (o.promptTokens() != null) {
            prompt = TokenFiles.read(o.promptTokens(), ck.config.vocabSize);
            if (ck.recordedTokenizer.isPresent() || o.tokenizer() != null) {   // ids need no tokenizer; text output does
                tok = ck.tokenizer(o.tokenizer());
                eot = tok.endOfTextId();
            }
        } else {
            tok = ck.tokenizer(o.tokenizer());
            eot = tok.endOfTextId();
            String text = o.prompt() != null ? o.prompt() : Files.readString(o.promptFile(), StandardCharsets.UTF_8);
            prompt = tok.encode(text);
        }
        if (prompt.length == 0) throw new IllegalArgumentException("generate: the prompt holds no tokens");
        if (prompt.length > ck.config.maxPositionEmbeddings) {
            throw new IllegalArgumentException("generate: the prompt holds " + prompt.length + " tokens, more than max_position_embeddings "
                    + ck.config.maxPositionEmbeddings + " of " + ck.dir + ": shorten it");
        }
        try (Backend be = new Nd4jCpuBackend(o.dtype(), o.threads())) {
            ParameterStore ps = ck.loadWeights(be, false);
            int capacity = Math.min(ck.config.maxPositionEmbeddings, prompt.length + Math.max(1, o.maxNewTokens()) - 1);
            boolean sparse = ck.config.layerType == LayerType.ELAS && ModelCheckpoint.elasSparse(ck.dir);
            InferenceModel model = new InferenceModel(be, ck.config, ps, 1, prompt.length, capacity, sparse);
            Sampler sampler = new Sampler(o.sampling(), ck.config.vocabSize);
            Generation.Result r = Generation.run(be, model, prompt, o.maxNewTokens(), sampler, tok, eot, s -> {
                out.print(s);
                out.flush();
            });
            if (tok != null) out.println();
            ObjectNode j = JSON.createObjectNode();
            j.put("prompt_tokens", r.promptTokens()).put("new_tokens", r.newTokenIds().length);
            var ids = j.putArray("new_token_ids");
            for (int id : r.newTokenIds()) ids.add(id);
            j.put("text", r.text()).put("stop", r.stop().name().toLowerCase())
                    .put("prefill_tokens_per_s", r.prefillTokensPerSecond());
            if (r.decodeSteps() > 0) j.put("decode_tokens_per_s", r.decodeTokensPerSecond()); else j.putNull("decode_tokens_per_s");
            j.put("peak_bytes", r.peakBytes()).put("model", ck.dir.toString()).put("layer_type", ck.config.layerType.id)
                    .put("tokenizer", tok == null ? null : tok.name());
            if (ck.config.layerType == LayerType.ELAS) j.put("sparse_24", sparse);
            out.println(JSON.writeValueAsString(j));
            return j;
        }
    }

}
