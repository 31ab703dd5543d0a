package io.lowrank.worker.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.train.WindowedLoss;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

/**
 * {@code eval}: the loss of a checkpoint over a token file, per the window contract of DESIGN.md:
 * non-overlapping windows of seq_len+1 tokens (input = first seq_len, targets = the next token),
 * remainder dropped, loss = mean over all target tokens of all windows. Last stdout line:
 * {@code {"loss":..,"ppl":..,"tokens":..}}.
 */
@Command(name = "eval", description = "loss and perplexity of a checkpoint on a token file or a text file")
public final class EvalCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    ModelData options = new ModelData();

    @Override
    public Integer call() throws Exception {
        try (Backend be = options.backend()) {
            ModelData.Loaded m = options.load(be);
            WindowedLoss p = m.pass(be, false);
            double loss = p.lossSum / p.tokens;
            ObjectNode out = JSON.createObjectNode();
            out.put("loss", loss).put("ppl", Math.exp(loss)).put("tokens", p.tokens);
            System.out.println(JSON.writeValueAsString(out));
        }
        return 0;
    }
}
