package io.lowrank.spark.prepare;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a prepare run produced (or found already there).
 *
 * @param dataset         fully qualified URI of the dataset directory {@code <output>/<configHash>}
 * @param reused          true when the dataset already existed for these inputs and config (nothing was done)
 * @param configHash      hash of config + input identities (the directory name)
 * @param documents       well-formed documents read
 * @param trainSequences  sequences of {@code seqLen + 1} tokens in the training split
 * @param valSequences    sequences in the validation split
 * @param tokens          tokens stored in the shards ({@code (train + val) * (seqLen + 1)})
 * @param droppedTokens   end of the packed stream that did not fill a sequence
 * @param malformed       malformed records per kind (bad_json, missing_field, wrong_type, empty_text, bad_utf8)
 * @param shards          shard files written (train + val)
 * @param seconds         wall time of the run
 */
public record PrepareResult(String dataset, boolean reused, String configHash, long documents, long trainSequences,
                            long valSequences, long tokens, long droppedTokens, Map<String, Long> malformed,
                            int shards, double seconds) {

    /** The CLI's last stdout line: one JSON object. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("reused", reused);
        m.put("documents", documents);
        m.put("sequences_train", trainSequences);
        m.put("sequences_val", valSequences);
        m.put("tokens", tokens);
        m.put("dropped_tokens", droppedTokens);
        m.put("malformed", malformed);
        m.put("shards", shards);
        m.put("config_hash", configHash);
        m.put("seconds", Math.round(seconds * 1000) / 1000.0);
        try {
            return new ObjectMapper().writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
