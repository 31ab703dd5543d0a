package io.lowrank.worker.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class JsonFilesTest {
    @TempDir
    Path tmp;

    record TrainerState(long step, double lr, List<Long> cursor) {}

    @Test
    void roundTripKeepsOrderAndValues() throws IOException {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("vocab_size", 32000);
        cfg.put("hidden_size", 512);
        cfg.put("architectures", List.of("LlamaForCausalLM"));
        cfg.put("rms_norm_eps", 1e-6);
        cfg.put("lr", 0.1 + 0.2);                 // needs all 17 digits
        cfg.put("rope_scaling", null);
        cfg.put("tie_word_embeddings", false);
        Path file = tmp.resolve("config.json");
        JsonFiles.writePretty(file, cfg);

        String text = Files.readString(file);
        assertTrue(text.endsWith("}\n"), text);
        assertTrue(text.contains("\n  \"vocab_size\": 32000,\n"), text);
        Map<String, Object> back = JsonFiles.readMap(file);
        assertEquals(new ArrayList<>(cfg.keySet()), new ArrayList<>(back.keySet()));
        assertEquals(cfg, back);
        assertEquals(0.1 + 0.2, (Double) back.get("lr"));
        ObjectNode node = JsonFiles.readObject(file);
        assertEquals(512, node.get("hidden_size").asInt());
    }

    @Test
    void bindsRecords() throws IOException {
        Path file = tmp.resolve("trainer_state.json");
        TrainerState s = new TrainerState(1000, 3e-4, List.of(7L, 1L << 40));
        JsonFiles.writePretty(file, s);
        assertEquals(s, JsonFiles.read(file, TrainerState.class));
        Files.writeString(file, "{\"step\": 1, \"lr\": 0.1, \"cursor\": [], \"typo\": 2}");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> JsonFiles.read(file, TrainerState.class));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("typo"), e.getMessage());
    }

    @Test
    void errorsNameFileAndPosition() throws IOException {
        Path file = tmp.resolve("broken.json");
        Files.writeString(file, "{\n  \"a\": 1,\n  \"b\": ]\n}");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> JsonFiles.readObject(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("line 3"), e.getMessage());

        Files.writeString(file, "[1, 2]");
        e = assertThrows(CheckpointFormatException.class, () -> JsonFiles.readObject(file));
        assertTrue(e.getMessage().contains("ARRAY"), e.getMessage());

        Files.writeString(file, "{\"a\": 1, \"a\": 2}");
        e = assertThrows(CheckpointFormatException.class, () -> JsonFiles.readMap(file));
        assertTrue(e.getMessage().contains("'a'"), e.getMessage());

        Files.writeString(file, "   ");
        assertThrows(CheckpointFormatException.class, () -> JsonFiles.readTree(file));
    }

    @Test
    void unserializableValueLeavesExistingFileIntact() throws IOException {
        Path file = tmp.resolve("config.json");
        JsonFiles.writePretty(file, Map.of("a", 1));
        byte[] before = Files.readAllBytes(file);
        assertThrows(IllegalArgumentException.class, () -> JsonFiles.writePretty(file, new Object()));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count());
        }
    }
}
