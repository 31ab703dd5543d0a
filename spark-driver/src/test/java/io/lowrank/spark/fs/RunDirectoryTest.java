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
}
