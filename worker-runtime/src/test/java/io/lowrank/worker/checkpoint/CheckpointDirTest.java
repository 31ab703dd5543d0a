package io.lowrank.worker.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointDirTest {
    @TempDir
    Path run;

    private static void writeCheckpoint(Path dir, float value) throws IOException {
        JsonFiles.writePretty(dir.resolve(CheckpointDir.CONFIG_JSON), Map.of("hidden_size", 2));
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>();
        t.put("model.norm.weight", HostTensor.f32(new long[] {2}, new float[] {value, value}));
        Safetensors.write(dir.resolve(CheckpointDir.MODEL_SAFETENSORS), t, Map.of("format", "pt"));
        JsonFiles.writePretty(dir.resolve(CheckpointDir.TRAINER_STATE_JSON), Map.of("step", (long) value));
    }

    private static float normValue(Path dir) throws IOException {
        return Safetensors.read(dir.resolve(CheckpointDir.MODEL_SAFETENSORS)).get("model.norm.weight").toFloatArray()[0];
    }

    private List<String> names() throws IOException {
        try (var s = Files.list(run)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void stepNames() {
        assertEquals("step-00000042", CheckpointDir.stepDirName(42));
        assertEquals("step-123456789", CheckpointDir.stepDirName(123_456_789));
        assertEquals(OptionalLong.of(42), CheckpointDir.parseStep("step-00000042"));
        assertEquals(OptionalLong.of(123_456_789), CheckpointDir.parseStep("step-123456789"));
        for (String bad : List.of("step-42", "step-000000042", "step-00000042.tmp-1f", "step-00000042.old-2",
                "step-0000004x", "Step-00000042", "step-", "step-99999999999999999999")) {
            assertTrue(CheckpointDir.parseStep(bad).isEmpty(), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> CheckpointDir.stepDirName(-1));
    }

    @Test
    void writesNewDirectoryAtomically() throws IOException {
        Path dir = CheckpointDir.stepDir(run, 10);
        CheckpointDir.writeAtomically(dir, d -> {
            assertNotEquals(dir, d);
            assertTrue(d.getFileName().toString().startsWith("step-00000010.tmp-"), d.toString());
            assertFalse(Files.exists(dir), "final name appears only after the writer finished");
            writeCheckpoint(d, 10);
        });
        assertEquals(List.of("step-00000010"), names());
        assertTrue(CheckpointDir.isComplete(dir));
        assertEquals(10f, normValue(dir));
    }

    @Test
    void replacesExistingDirectoryCompletely() throws IOException {
        Path dir = CheckpointDir.stepDir(run, 10);
        CheckpointDir.writeAtomically(dir, d -> {
            writeCheckpoint(d, 1);
            Files.writeString(d.resolve("stale.txt"), "from the old version");
        });
        CheckpointDir.writeAtomically(dir, d -> writeCheckpoint(d, 2));
        assertEquals(2f, normValue(dir));
        assertFalse(Files.exists(dir.resolve("stale.txt")), "replaced, not merged");
        assertEquals(List.of("step-00000010"), names(), "no .tmp- or .old- left");
    }

    @Test
    void failedWriteKeepsOldCheckpointIntact() throws IOException {
        Path dir = CheckpointDir.stepDir(run, 10);
        CheckpointDir.writeAtomically(dir, d -> writeCheckpoint(d, 1));
        byte[] model = Files.readAllBytes(dir.resolve(CheckpointDir.MODEL_SAFETENSORS));
        byte[] config = Files.readAllBytes(dir.resolve(CheckpointDir.CONFIG_JSON));

        IOException e = assertThrows(IOException.class, () -> CheckpointDir.writeAtomically(dir, d -> {
            JsonFiles.writePretty(d.resolve(CheckpointDir.CONFIG_JSON), Map.of("hidden_size", 99));
            Files.write(d.resolve(CheckpointDir.MODEL_SAFETENSORS), new byte[] {1, 2, 3}); // half-written
            throw new IOException("executor lost (simulated)");
        }));
        assertEquals("executor lost (simulated)", e.getMessage());
        assertArrayEquals(model, Files.readAllBytes(dir.resolve(CheckpointDir.MODEL_SAFETENSORS)));
        assertArrayEquals(config, Files.readAllBytes(dir.resolve(CheckpointDir.CONFIG_JSON)));
        assertEquals(List.of("step-00000010"), names(), "temp dir removed");
        assertEquals(Optional.of(dir.toAbsolutePath()), CheckpointDir.latest(run).map(Path::toAbsolutePath));

        assertThrows(IllegalStateException.class, () -> CheckpointDir.writeAtomically(CheckpointDir.stepDir(run, 20), d -> {
            writeCheckpoint(d, 20);
            throw new IllegalStateException("bug in writer");
        }));
        assertEquals(List.of("step-00000010"), names(), "unchecked failures clean up too");
    }

    @Test
    void latestPicksHighestCompleteStepAndIgnoresTempAndIncomplete() throws IOException {
        assertEquals(Optional.empty(), CheckpointDir.latest(run.resolve("does-not-exist")));
        assertEquals(Optional.empty(), CheckpointDir.latest(run));

        CheckpointDir.writeAtomically(CheckpointDir.stepDir(run, 2), d -> writeCheckpoint(d, 2));
        CheckpointDir.writeAtomically(CheckpointDir.stepDir(run, 100), d -> writeCheckpoint(d, 100));
        CheckpointDir.writeAtomically(CheckpointDir.stepDir(run, 30), d -> writeCheckpoint(d, 30));
        // a crashed write of a later step: complete-looking content, but still under its temp name
        Path crashed = run.resolve("step-00000200.tmp-5eed");
        Files.createDirectories(crashed);
        writeCheckpoint(crashed, 200);
        Path oldCopy = run.resolve("step-00000300.old-5eed");
        Files.createDirectories(oldCopy);
        writeCheckpoint(oldCopy, 300);
        // a hand-made directory without the model file
        Files.createDirectories(run.resolve("step-00000400"));
        JsonFiles.writePretty(run.resolve("step-00000400").resolve(CheckpointDir.CONFIG_JSON), Map.of());
        // noise
        Files.writeString(run.resolve("step-00000500"), "a file, not a directory");
        Files.createDirectories(run.resolve("metrics"));

        Path latest = CheckpointDir.latest(run).orElseThrow();
        assertEquals("step-00000100", latest.getFileName().toString(), "numeric, not creation or lexical order of noise");
        assertEquals(100f, normValue(latest));
        assertEquals(List.of("step-00000002", "step-00000030", "step-00000100"),
                CheckpointDir.listComplete(run).stream().map(p -> p.getFileName().toString()).toList());
    }
}
