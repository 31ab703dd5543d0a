package io.lowrank.worker.train;

import io.lowrank.worker.model.ConfigException;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Presets carry the papers' numbers; invalid configurations are rejected before any work, naming the field. */
class RunConfigTest {

    @ParameterizedTest
    @CsvSource({
            // parameter counts in millions as printed in methods.md's table (V = 32000), with its precision
            "60m,512,1376,8,8,128,false,0.006,2000,10000,58.07,42.77,0.005",
            "130m,768,2048,12,12,256,false,0.003,2000,20000,134.11,94.00,0.005",
            "350m,1024,2736,24,16,256,true,0.003,6000,60000,367.97,185.22,0.005",
            "1b,2048,5461,24,32,512,true,0.002,10000,100000,1339.08,609.31,0.005",
            "7b,4096,11008,32,32,1024,true,0.001,15000,150000,6738.4,2820.9,0.05"})
    void presetsMatchThePapers(String p, int d, int ff, int layers, int heads, int rank, boolean lract, double lr,
                               long warmup, long steps, double fullMillions, double colaMillions, double precision) throws Exception {
        for (String layer : new String[]{"full", "cola"}) {
            RunConfig rc = RunConfig.load(p, layer);
            ModelConfig c = rc.model(32000);
            assertEquals(d, c.hiddenSize);
            assertEquals(ff, c.intermediateSize);
            assertEquals(layers, c.numLayers);
            assertEquals(heads, c.numHeads);
            assertEquals(lr, rc.lr());
            assertEquals(warmup, rc.warmupSteps());
            assertEquals(steps, rc.steps());
            assertEquals(256, rc.seqLen());
            assertEquals(512, rc.batchSize() * rc.gradAccum(), "global batch of 512 sequences");
            long params = io.lowrank.worker.model.ModelLayout.of(c).values().stream()
                    .mapToLong(s -> { long n = 1; for (int x : s) n *= x; return n; }).sum();
            if (layer.equals("cola")) {
                assertEquals(LayerType.COLA, c.layerType);
                assertEquals(rank, c.rank);
                assertEquals(lract, c.onlyLrAct);
                assertEquals(colaMillions, params / 1e6, precision, "CoLA parameter count of methods.md");
            } else {
                assertEquals(fullMillions, params / 1e6, precision, "full-rank parameter count of methods.md");
            }
        }
    }

    @Test
    void unknownKeysAndBadValuesNameTheField() throws Exception {
        RunConfig rc = RunConfig.load("tiny", "cola");
        assertEquals("model.rnak", assertThrows(ConfigException.class, () -> rc.with("model.rnak", "4")).field);
        assertEquals("train.lr", assertThrows(ConfigException.class, () -> rc.with("train.lr", "fast")).field);
        assertEquals("num_attention_heads", assertThrows(ConfigException.class, () -> rc.with("model.num_attention_heads", "5")).field);
        assertEquals("rank", assertThrows(ConfigException.class, () -> rc.with("model.rank", "200")).field);
        assertEquals("train.warmup_steps", assertThrows(ConfigException.class, () -> rc.with(Map.of("train.steps", "10", "train.warmup_steps", "10"))).field);
        assertEquals("train.seq_len", assertThrows(ConfigException.class, () -> rc.with("train.seq_len", "4096")).field);
        assertEquals("preset", assertThrows(ConfigException.class, () -> RunConfig.load("/no/such/preset.json", null)).field);
        assertEquals("preset", assertThrows(ConfigException.class, () -> RunConfig.load("3b", "full")).field);
        assertEquals("model.vocab_size", assertThrows(ConfigException.class, () -> rc.with("model.vocab_size", "1000").model(32000)).field);
        // a key the chosen family does not read is an error, not silently ignored
        RunConfig full = RunConfig.load("tiny", "full");
        assertEquals("model.rank", assertThrows(ConfigException.class, () -> full.with("model.rank", "8")).field);
        assertEquals("model.only_lr_act", assertThrows(ConfigException.class, () -> full.with("model.only_lr_act", "true")).field);
        // overrides applied together are validated together
        RunConfig ok = rc.with(Map.of("train.steps", "10", "train.warmup_steps", "2"));
        assertEquals(10, ok.steps());
        assertFalse(ok.source.isEmpty());
        assertTrue(ok.toJson().toString().contains("\"steps\":10"));
    }
}
