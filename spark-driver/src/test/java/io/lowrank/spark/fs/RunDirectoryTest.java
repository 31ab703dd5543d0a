package io.lowrank.spark.fs;

import io.lowrank.worker.checkpoint.CheckpointDir;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint retention on a real Hadoop LocalFileSystem: only complete step directories count and go. */
class RunDirectoryTest {

    private static Path checkpoint(Path root, long step, boolean complete) throws Exception {
        Path d = Files.createDirectories(root.resolve(CheckpointDir.stepDirName(step)));
        String[] files = {CheckpointDir.CONFIG_JSON, CheckpointDir.MODEL_SAFETENSORS, CheckpointDir.OPTIMIZER_SAFETENSORS,
                CheckpointDir.TRAINER_STATE_JSON};
        for (int i = 0; i < (complete ? files.length : 2); i++) Files.writeString(d.resolve(files[i]), "x");
        return d;
    }

    @Test
    void pruneKeepsTheNewestCompleteCheckpointsAndNothingElseGoes(@TempDir Path root) throws Exception {
        Path s100 = checkpoint(root, 100, true), s200 = checkpoint(root, 200, true), s300 = checkpoint(root, 300, true);
        Path s400 = checkpoint(root, 400, true), partial = checkpoint(root, 500, false);
        Path tmp = Files.createDirectories(root.resolve(CheckpointDir.stepDirName(600) + CheckpointDir.TMP_INFIX + "abc"));
        Files.writeString(root.resolve("metrics.jsonl"), "{}\n");
        RunDirectory run = new RunDirectory(root.toUri().toString(), new Configuration());

        assertEquals(0, run.pruneCheckpoints(0), "0 keeps every checkpoint");
        assertEquals(2, run.pruneCheckpoints(2));
        assertFalse(Files.exists(s100) || Files.exists(s200), "the two oldest complete checkpoints are gone");
        assertTrue(Files.isDirectory(s300) && Files.isDirectory(s400), "the newest two stay");
        assertTrue(Files.isDirectory(partial) && Files.isDirectory(tmp) && Files.exists(root.resolve("metrics.jsonl")),
                "incomplete checkpoints, temp copies and other files are not the pruner's");
        assertTrue(run.latestCheckpoint().orElseThrow().endsWith(CheckpointDir.stepDirName(400)));
        assertEquals(0, run.pruneCheckpoints(2), "nothing more to delete");
        assertEquals(1, run.pruneCheckpoints(1));
        assertTrue(Files.isDirectory(s400) && !Files.exists(s300));
    }

    @Test
    void aCorruptNewestCheckpointIsSkippedAndDoesNotCostThePreviousOneItsPlace(@TempDir Path root) throws Exception {
        Path s100 = checkpoint(root, 100, true), s200 = checkpoint(root, 200, true), s300 = checkpoint(root, 300, true);
        for (Path p : java.util.List.of(s100, s200, s300)) {
            Files.writeString(p.resolve(CheckpointDir.MODEL_SAFETENSORS), "weights of " + p.getFileName());
            io.lowrank.worker.checkpoint.CheckpointManifest.write(p);
        }
        // the newest checkpoint's weights change after publication (same length, other bytes)
        Path bad = s300.resolve(CheckpointDir.MODEL_SAFETENSORS);
        Files.writeString(bad, "weights of step-0000030X");
        RunDirectory run = new RunDirectory(root.toUri().toString(), new Configuration());
        java.util.List<String> warnings = new java.util.ArrayList<>();

        assertTrue(run.latestCheckpoint().orElseThrow().endsWith(CheckpointDir.stepDirName(300)), "complete by its files");
        assertTrue(run.latestVerifiedCheckpoint(warnings::add).orElseThrow().endsWith(CheckpointDir.stepDirName(200)));
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains(CheckpointDir.stepDirName(300) + "/" + CheckpointDir.MODEL_SAFETENSORS)
                && warnings.get(0).contains("fails its checksum"), warnings.get(0));

        // keep 1: the corrupt newest does not count, so step 200 (what a resume needs) stays
        assertEquals(1, run.pruneCheckpoints(1, warnings::add));
        assertTrue(Files.isDirectory(s200) && Files.isDirectory(s300) && !Files.exists(s100));
        // a truncated file fails by its size
        Files.writeString(s200.resolve(CheckpointDir.CONFIG_JSON), "");
        assertTrue(new RunDirectory(root.toUri().toString(), new Configuration()).latestVerifiedCheckpoint(warnings::add).isEmpty());
        assertTrue(warnings.get(warnings.size() - 1).contains(CheckpointDir.CONFIG_JSON + " has 0 bytes"), warnings.toString());
    }
}
