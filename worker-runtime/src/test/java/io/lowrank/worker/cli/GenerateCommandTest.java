package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lowrank.worker.checkpoint.CheckpointDir;
import io.lowrank.worker.checkpoint.ModelCheckpoint;
import io.lowrank.worker.checkpoint.TokenizerInfo;
import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.Tokenizers;
import io.lowrank.worker.generate.Sampler;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.model.ModelLayout;
import io.lowrank.worker.model.ParameterStore;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * generate and eval --text on a small random CoLA checkpoint with the gpt2-32k vocabulary, in a
 * run directory (so --model resolves to its newest complete checkpoint).
 */
class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final ModelConfig CONFIG = new ModelConfig(32000, 16, 24, 2, 2, 1e-6, 10000.0, 40, LayerType.COLA, 4, false, 0.02);

    @TempDir
    static Path tmp;
    static Path run, bare;

    @BeforeAll
    static void writeCheckpoints() throws Exception {
        run = tmp.resolve("run");
        bare = tmp.resolve("bare");
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(CONFIG));
            SplittableRandom r = new SplittableRandom(5);
            for (ParameterStore.Param p : ps.params()) {
                boolean norm = p.name.endsWith("norm.weight");
                for (int i = 0; i < p.value.size; i++) p.value.set(i, norm ? 1.0 : (r.nextDouble() * 2 - 1) * (p.name.contains("embed") ? 1.0 : 0.6));
            }
            TokenizerInfo tok = new TokenizerInfo("gpt2-32k", Tokenizers.GPT2_32K_EOT);
            ModelCheckpoint.save(CheckpointDir.stepDir(run, 10), CONFIG, tok, ps, null, null);
            ModelCheckpoint.save(CheckpointDir.stepDir(run, 20), CONFIG, tok, ps, null, null);
            Files.createDirectories(run.resolve("step-00000030.tmp-99"));                 // a write in progress: ignored
            ModelCheckpoint.save(bare, CONFIG, null, ps, null, null);                    // no tokenizer recorded
        }
    }

    record Out(JsonNode json, String streamed, String err) { }

    static Out generate(GenerateCommand.Options o) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        GenerateCommand.run(o, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String s = out.toString(StandardCharsets.UTF_8);
        String[] lines = s.split("\n");
        String streamed = s.substring(0, s.length() - lines[lines.length - 1].length() - 1);
        return new Out(JSON.readTree(lines[lines.length - 1]), streamed, err.toString(StandardCharsets.UTF_8));
    }

    static GenerateCommand.Options opts(Path model, String prompt, Path promptTokens, int n, Sampler.Options s, String tokenizer) {
        return new GenerateCommand.Options(model, prompt, null, promptTokens, n, s, tokenizer, 2, DType.F32);
    }

    @Test
    void generatesFromTheRunsNewestCheckpointAndStreamsTheText() throws Exception {
        Out o = generate(opts(run, "The quick brown fox", null, 12, new Sampler.Options(false, 1.0, 50, 0.9, 3), null));
        assertTrue(o.err.contains("step-00000020") && o.err.contains("newest complete checkpoint"), o.err);
        JsonNode j = o.json;
        assertEquals(4, j.get("prompt_tokens").asInt());
        int n = j.get("new_tokens").asInt();
        assertEquals(n, j.get("new_token_ids").size());
        assertTrue(n >= 1 && n <= 12);
        assertEquals(n == 12 ? "max_new_tokens" : "end_of_text", j.get("stop").asText());
        assertEquals(j.get("text").asText() + "\n", o.streamed, "the streamed text is the result's text");
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = j.get("new_token_ids").get(i).asInt();
        if (n > 0 && ids[n - 1] == Tokenizers.GPT2_32K_EOT) ids = java.util.Arrays.copyOf(ids, n - 1);
        assertEquals(Tokenizers.byName("gpt2-32k").decode(ids), j.get("text").asText());
        for (String k : new String[]{"prefill_tokens_per_s", "decode_tokens_per_s", "peak_bytes"}) assertTrue(j.get(k).asDouble() > 0, k);
        assertEquals(j.get("model").asText(), CheckpointDir.stepDir(run, 20).toString());

        // the same seed draws the same tokens; greedy equals top-k 1
        assertEquals(j.get("new_token_ids"), generate(opts(run, "The quick brown fox", null, 12, new Sampler.Options(false, 1.0, 50, 0.9, 3), null)).json.get("new_token_ids"));
        JsonNode greedy = generate(opts(run, "The quick brown fox", null, 8, Sampler.Options.greedyDecoding(), null)).json;
        assertEquals(greedy.get("new_token_ids"), generate(opts(run, "The quick brown fox", null, 8, new Sampler.Options(false, 1.0, 1, 1.0, 99), null)).json.get("new_token_ids"));
    }

    @Test
    void promptTokensNeedNoTokenizerAndTextNeedsOne() throws Exception {
        Path ids = tmp.resolve("prompt.npy");
        NpyTokens.writeInt32(ids, new int[]{464, 2068, 7586, 21831});     // "The quick brown fox" in gpt2-32k
        JsonNode fromIds = generate(opts(bare, null, ids, 6, Sampler.Options.greedyDecoding(), null)).json;
        assertEquals("", fromIds.get("text").asText());
        assertEquals(6, fromIds.get("new_tokens").asInt(), "no tokenizer: no end-of-text to stop at");
        JsonNode fromText = generate(opts(run, "The quick brown fox", null, 6, Sampler.Options.greedyDecoding(), null)).json;
        for (int i = 0; i < fromText.get("new_tokens").asInt(); i++) {
            assertEquals(fromText.get("new_token_ids").get(i), fromIds.get("new_token_ids").get(i), "same weights, same prompt ids, same greedy tokens");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> generate(opts(bare, "hello", null, 4, Sampler.Options.greedyDecoding(), null)));
        assertTrue(e.getMessage().contains("records no tokenizer") && e.getMessage().contains("--tokenizer"), e.getMessage());
        assertEquals("gpt2-32k", generate(opts(bare, "hello", null, 2, Sampler.Options.greedyDecoding(), "gpt2-32k")).json.get("tokenizer").asText());
        IllegalArgumentException contra = assertThrows(IllegalArgumentException.class,
                () -> generate(opts(run, "hello", null, 4, Sampler.Options.greedyDecoding(), "gpt2")));
        assertTrue(contra.getMessage().contains("contradicts"), contra.getMessage());
    }

    @Test
    void aPromptLongerThanMaxPositionEmbeddingsIsAClearError() throws Exception {
        String longPrompt = "word ".repeat(45);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> generate(opts(run, longPrompt, null, 4, Sampler.Options.greedyDecoding(), null)));
        assertTrue(e.getMessage().contains("max_position_embeddings 40"), e.getMessage());
        JsonNode capped = generate(opts(run, "word ".repeat(37).trim(), null, 20, Sampler.Options.greedyDecoding(), null)).json;
        int prompt = capped.get("prompt_tokens").asInt();
        if (capped.get("stop").asText().equals("max_position_embeddings")) assertEquals(40 - prompt + 1, capped.get("new_tokens").asInt());
    }

    @Test
    void evalTextTokenizesWithTheCheckpointsTokenizerLikeTraining() throws Exception {
        Path text = tmp.resolve("doc.txt");
        Files.writeString(text, "The quick brown fox jumps over the lazy dog.\n\nA second document, with more words in it than the first one has.\n");
        var tok = Tokenizers.byName("gpt2-32k");
        int[] a = tok.encode("The quick brown fox jumps over the lazy dog."), b = tok.encode("A second document, with more words in it than the first one has.");
        int[] all = new int[a.length + b.length + 2];
        System.arraycopy(a, 0, all, 0, a.length);
        all[a.length] = tok.endOfTextId();
        System.arraycopy(b, 0, all, a.length + 1, b.length);
        all[all.length - 1] = tok.endOfTextId();
        Path ids = tmp.resolve("doc.npy");
        NpyTokens.writeInt32(ids, all);
        JsonNode fromText = lastJson(run("eval", "--model", run.toString(), "--text", text.toString(), "--seq-len", "8"));
        JsonNode fromIds = lastJson(run("eval", "--model", run.toString(), "--tokens", ids.toString(), "--seq-len", "8"));
        assertEquals(fromIds.get("tokens").asLong(), fromText.get("tokens").asLong());
        assertEquals(fromIds.get("loss").asDouble(), fromText.get("loss").asDouble(), 0.0);
    }

    @Test
    void elasEvaluatesWithTheTrainersSparsityAtItsStep() throws Exception {
        ModelConfig c = new ModelConfig(50, 16, 24, 2, 2, 1e-6, 10000.0, 40, LayerType.ELAS, 4, false, 0.02);
        Path dir = tmp.resolve("elas");
        int[] tokens = new int[3 * 9];
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(50);
        double sparse, dense;
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1)) {
            ParameterStore ps = new ParameterStore(be, ModelLayout.of(c));
            for (ParameterStore.Param p : ps.params()) for (int i = 0; i < p.value.size; i++) p.value.set(i, p.name.endsWith("norm.weight") ? 1.0 : r.nextDouble() - 0.5);
            ModelCheckpoint.save(dir, c, null, ps, null, JSON.readTree("{\"step\": 5, \"run_config\": {\"train\": {\"dense_warmup_steps\": 3}}}"));
            sparse = io.lowrank.worker.train.WindowedLoss.compute(be, c, ps, tokens, 8, 8, false, true).mean();
            dense = io.lowrank.worker.train.WindowedLoss.compute(be, c, ps, tokens, 8, 8, false, false).mean();
        }
        assertNotEquals(sparse, dense, "2:4 sparsity changes the loss");
        Path ids = tmp.resolve("elas.npy");
        NpyTokens.writeInt32(ids, tokens);
        assertEquals(sparse, lastJson(run("eval", "--model", dir.toString(), "--tokens", ids.toString(), "--seq-len", "8")).get("loss").asDouble(), 1e-6);
    }

    @Test
    void theCommandLine() throws Exception {
        String out = run("generate", "--model", run.toString(), "--prompt", "The quick brown fox", "--max-new-tokens", "5", "--greedy", "--threads", "1");
        JsonNode j = lastJson(out);
        assertEquals(generate(opts(run, "The quick brown fox", null, 5, Sampler.Options.greedyDecoding(), null)).json.get("new_token_ids"), j.get("new_token_ids"));
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(2, Main.run("generate", "--model", run.toString(), "--prompt", "a", "--prompt-tokens", "x.npy"));
            assertEquals(2, Main.run("generate", "--model", run.toString()));
            assertEquals(2, Main.run("generate", "--model", run.toString(), "--prompt", "a", "--top-p", "0"));
            assertEquals(2, Main.run("export", "--model", run.toString(), "--out", tmp.resolve("e").toString(), "--dtype", "fp8"));
        } finally {
            System.setErr(oldErr);
        }
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains("--prompt") && e.contains("--top-p") && e.contains("bf16 or f32"), e);
    }

    static String run(String... argv) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            assertEquals(0, Main.run(argv), String.join(" ", argv));
            return out.toString(StandardCharsets.UTF_8);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static JsonNode lastJson(String out) throws Exception {
        String[] lines = out.trim().split("\n");
        return JSON.readTree(lines[lines.length - 1]);
    }
}
