package io.lowrank.worker.cli;

import io.lowrank.worker.model.ConfigException;
import io.lowrank.worker.optim.CosineSchedule;
import io.lowrank.worker.train.RunConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How --steps changes the learning-rate schedule: below the preset's warmup it scales the warmup
 * to the preset's fraction (unless train.warmup_steps is set) and says so; on resume it extends the
 * run with a constant tail at the cosine's final value, so no step's learning rate jumps.
 */
class ScheduleOptionsTest {
    private static TrainOverrides parse(String... argv) {
        TrainLocalCommand c = new TrainLocalCommand();
        new CommandLine(c).parseArgs(argv);
        return c.overrides;
    }

    private static String[] apply(TrainOverrides o, RunConfig rc, boolean resume) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream notes = new PrintStream(buf, true, StandardCharsets.UTF_8);
        RunConfig r = resume ? o.applyOnResume(rc, null, notes) : o.apply(rc, null, notes);
        return new String[]{r.toJson().toString(), buf.toString(StandardCharsets.UTF_8), Long.toString(r.warmupSteps()),
                Long.toString(r.steps()), Long.toString(r.decaySteps())};
    }

    @Test
    void stepsBelowThePresetsWarmupScaleItAndSaySo() throws Exception {
        RunConfig tiny = RunConfig.load("tiny", "cola");
        assertEquals(30, tiny.warmupSteps());
        assertEquals(400, tiny.steps());
        String[] r = apply(parse("--steps", "30"), tiny, false);
        // 30/400 of 30 steps = 2.25 -> 2
        assertEquals("2", r[2]);
        assertTrue(r[1].contains("train.warmup_steps: 2") && r[1].contains("the preset's 30 of 400 steps, 7.5%"), r[1]);
        r = apply(parse("--steps", "5"), tiny, false);
        assertEquals("0", r[2], r[1]);   // 0.375 rounds to 0: no warmup
        // a warmup set explicitly is kept (and validated), and a --steps above the warmup changes nothing
        r = apply(parse("--steps", "30", "--set", "train.warmup_steps=10"), tiny, false);
        assertEquals("10", r[2]);
        assertEquals("", r[1]);
        r = apply(parse("--steps", "100"), tiny, false);
        assertEquals("30", r[2]);
        assertEquals("", r[1]);
        ConfigException e = assertThrows(ConfigException.class, () -> apply(parse("--steps", "30", "--set", "train.warmup_steps=30"), tiny, false));
        assertTrue(e.getMessage().contains("train.warmup_steps"), e.getMessage());
    }

    @Test
    void extendingARunKeepsTheCosineAndAddsAConstantTail() throws Exception {
        RunConfig run = RunConfig.load("tiny", "cola");   // warmup 30, 400 steps, lr 3e-3, min ratio 0.1
        String[] r = apply(parse("--steps", "800"), run, true);
        assertEquals("800", r[3]);
        assertEquals("400", r[4]);
        assertEquals("30", r[2]);
        assertTrue(r[1].contains("extending the run from 400 to 800 steps") && r[1].contains("3.00e-04"), r[1]);
        RunConfig extended = RunConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree(r[0]), "test");
        CosineSchedule before = new CosineSchedule(run.lr(), run.warmupSteps(), run.decaySteps(), run.minLrRatio());
        CosineSchedule after = new CosineSchedule(extended.lr(), extended.warmupSteps(), extended.decaySteps(), extended.minLrRatio());
        for (long t = 0; t < 400; t++) assertEquals(before.lr(t), after.lr(t), 0.0, "step index " + t);
        for (long t = 400; t < 800; t++) assertEquals(3e-4, after.lr(t), 1e-15, "step index " + t);
        // the last step of the 400 ran at lr(399), just above the tail: the tail continues the decay, no jump up
        assertTrue(before.lr(399) > 3e-4 && before.lr(399) < 3e-4 * (1 + 1e-3), Double.toString(before.lr(399)));
        // whereas the cosine recomputed over 800 steps would jump 5.8x at the first added step (RunConfig.extendedTo's reason)
        assertEquals(5.78, new CosineSchedule(3e-3, 30, 800, 0.1).lr(400) / before.lr(399), 0.01);
        // extending again keeps the same cosine end
        String[] again = apply(parse("--steps", "1000"), extended, true);
        assertEquals("400", again[4]);
        // shortening is refused naming the field; the same steps change nothing
        assertThrows(ConfigException.class, () -> apply(parse("--steps", "300"), run, true));
        String[] same = apply(parse("--steps", "400"), run, true);
        assertEquals("400", same[4]);
        assertEquals("", same[1]);
    }
}
