package io.lowrank.worker.checkpoint;

import io.lowrank.worker.train.RunConfig;
import io.lowrank.worker.train.Trainer;
import io.lowrank.worker.data.NpyTokens;
import io.lowrank.worker.data.TokenCursor;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.DType;
import io.lowrank.worker.tensor.Nd4jCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints carry checksums.json (size + CRC32C of every file, written before the publishing
 * rename); a checkpoint whose bytes changed afterwards is skipped at resume in favour of the
 * previous complete one, with a warning naming the file.
 */
class CheckpointManifestTest {

    private static Path trainWithCheckpoints(Path tmp) throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        int[] t = new int[3000];
        for (int i = 0; i < t.length; i++) t[i] = (i % 5 == 0) ? 3 : r.nextInt(97);
        Path data = tmp.resolve("train.npy");
        NpyTokens.writeInt32(data, t);
        RunConfig rc = RunConfig.load("tiny", "cola").with(Map.ofEntries(
                Map.entry("model.hidden_size", "24"), Map.entry("model.intermediate_size", "40"), Map.entry("model.num_attention_heads", "3"),
                Map.entry("model.vocab_size", "97"), Map.entry("model.rank", "6"), Map.entry("train.seq_len", "12"),
                Map.entry("train.batch_size", "2"), Map.entry("train.steps", "6"), Map.entry("train.warmup_steps", "1"),
                Map.entry("train.checkpoint_every", "2"), Map.entry("train.eval_every", "0"), Map.entry("train.threads", "1")));
        Path run = Files.createDirectories(tmp.resolve("run"));
        ModelConfig mc = rc.model(97);
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer tr = new Trainer(be, rc, mc, new TokenCursor(List.of(data)), null, run, new PrintStream(new ByteArrayOutputStream()))) {
            tr.run(6);
        }
        return run;
    }

    @Test
    void aCorruptedNewestCheckpointIsSkippedForThePreviousOneWithAWarningNamingTheFile(@TempDir Path tmp) throws Exception {
        Path run = trainWithCheckpoints(tmp);
        Path s4 = run.resolve(CheckpointDir.stepDirName(4)), s6 = run.resolve(CheckpointDir.stepDirName(6));
        for (Path cp : List.of(s4, s6)) {
            assertTrue(Files.isRegularFile(cp.resolve(CheckpointManifest.FILE_NAME)), "every checkpoint carries " + CheckpointManifest.FILE_NAME);
            assertTrue(CheckpointManifest.verify(cp).ok());
        }

        // one bit flipped in the middle of the newest checkpoint's weights: same size, other bytes
        Path weights = s6.resolve(CheckpointDir.MODEL_SAFETENSORS);
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            long at = f.length() / 2;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
        List<String> warnings = new ArrayList<>();
        assertEquals(s4, CheckpointManifest.latestVerified(run, warnings::add).orElseThrow());
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains(weights.toString()) && warnings.get(0).contains("fails its checksum"), warnings.get(0));
        assertTrue(Files.isDirectory(s6), "the corrupt checkpoint is left for inspection, not deleted");

        // the trainer refuses the corrupt one itself (a direct resume, or a copy that broke in transit) ...
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer tr = trainer(be, s6)) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> tr.resume(s6));
            assertTrue(e.getMessage().contains(CheckpointDir.MODEL_SAFETENSORS), e.getMessage());
        }
        // ... and resumes from the previous one at its step
        try (Backend be = new Nd4jCpuBackend(DType.F32, 1);
             Trainer tr = trainer(be, s4)) {
            tr.resume(s4);
            assertEquals(4, tr.step());
        }

        // a truncated file is named with its sizes; a checkpoint without a manifest is accepted unverified
        Path s2 = run.resolve(CheckpointDir.stepDirName(2));
        Path opt = s4.resolve(CheckpointDir.OPTIMIZER_SAFETENSORS);
        Files.write(opt, java.util.Arrays.copyOf(Files.readAllBytes(opt), (int) Files.size(opt) - 7));
        CheckpointManifest.Verdict truncated = CheckpointManifest.verify(s4);
        assertFalse(truncated.ok());
        assertTrue(truncated.problem().contains(opt.toString()) && truncated.problem().contains("bytes"), truncated.problem());
        Files.delete(s2.resolve(CheckpointManifest.FILE_NAME));
        warnings.clear();
        assertEquals(s2, CheckpointManifest.latestVerified(run, warnings::add).orElseThrow());
        assertEquals(2, warnings.size(), warnings.toString());
        assertFalse(CheckpointManifest.verify(s2).hasManifest());
    }

    private static Trainer trainer(Backend be, Path checkpoint) throws Exception {
        RunConfig rc = RunConfig.fromJson(JsonFiles.readTree(checkpoint.resolve(CheckpointDir.TRAINER_STATE_JSON)).get("run_config"), "test");
        Path data = checkpoint.getParent().getParent().resolve("train.npy");
        return new Trainer(be, rc, rc.model(97), new TokenCursor(List.of(data)), null, null, new PrintStream(new ByteArrayOutputStream()));
    }
}
