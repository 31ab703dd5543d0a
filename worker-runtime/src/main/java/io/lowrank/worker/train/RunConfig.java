package io.lowrank.worker.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lowrank.worker.model.ConfigException;
import io.lowrank.worker.model.LayerType;
import io.lowrank.worker.model.ModelConfig;
import io.lowrank.worker.tensor.BackendChoice;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training run's configuration: a preset ({@code conf/presets/<name>.json}, packaged into the jar
 * as {@code /presets/<name>.json}) with field-by-field overrides ({@code model.rank=64},
 * {@code train.lr=0.001}). Every key is known in advance: a misspelt key, a wrong type or an
 * impossible value is rejected before any work, with the field named.
 */
public final class RunConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Known keys and their kinds: i = integer, d = number, b = boolean, s = string. */
    private static final Map<String, Character> MODEL_KEYS = new LinkedHashMap<>();
    private static final Map<String, Character> TRAIN_KEYS = new LinkedHashMap<>();

    static {
        for (String k : new String[]{"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "max_position_embeddings", "rank", "vocab_size"}) MODEL_KEYS.put(k, 'i');
        for (String k : new String[]{"rms_norm_eps", "rope_theta", "initializer_range"}) MODEL_KEYS.put(k, 'd');
        MODEL_KEYS.put("only_lr_act", 'b');
        MODEL_KEYS.put("layer_type", 's');
        for (String k : new String[]{"seq_len", "batch_size", "grad_accum", "steps", "warmup_steps", "seed", "eval_every",
                "eval_batches", "checkpoint_every", "log_every", "threads", "dense_warmup_steps", "max_skipped_steps", "decay_steps"}) TRAIN_KEYS.put(k, 'i');
        for (String k : new String[]{"lr", "min_lr_ratio", "weight_decay", "beta1", "beta2", "eps", "grad_clip", "bucket_mb"}) TRAIN_KEYS.put(k, 'd');
        TRAIN_KEYS.put("tokenizer", 's');
        TRAIN_KEYS.put("dtype", 's');
        TRAIN_KEYS.put("backend", 's');     // cpu | cuda
        TRAIN_KEYS.put("precision", 's');   // f32 | bf16 (bf16: cuda only)
    }

    private final ObjectNode root;
    public final String source;

    private RunConfig(ObjectNode root, String source) {
        this.root = root;
        this.source = source;
        validate();
    }

    /** A preset name (tiny, 60m, ...) with a layer family, or a path to a preset JSON file. */
    public static RunConfig load(String preset, String layer) throws IOException {
        Path p = Path.of(preset);
        if (preset.endsWith(".json")) {
            if (!Files.isRegularFile(p)) throw new ConfigException("preset", "file " + p.toAbsolutePath() + " does not exist");
            try (InputStream in = Files.newInputStream(p)) {
                RunConfig c = parse(in, p.toString());
                return layer == null ? c : c.withLayer(layer);
            }
        }
        String name = preset + "-" + (layer == null ? "full" : layer.toLowerCase()) + ".json";
        try (InputStream in = RunConfig.class.getResourceAsStream("/presets/" + name)) {
            if (in == null) {
                throw new ConfigException("preset", "no preset '" + preset + "' for layer '" + (layer == null ? "full" : layer)
                        + "' (looked for presets/" + name + "); presets: tiny, 60m, 130m, 350m, 1b, 7b; layers: full, cola, cola-m, crnet, elas");
            }
            return parse(in, "presets/" + name);
        }
    }

    static RunConfig parse(InputStream in, String source) throws IOException {
        JsonNode n;
        try {
            n = JSON.readTree(in);
        } catch (IOException e) {
            throw new ConfigException("preset", source + " is not valid JSON: " + e.getMessage());
        }
        if (!(n instanceof ObjectNode)) throw new ConfigException("preset", source + " must be a JSON object");
        return new RunConfig((ObjectNode) n, source);
    }

    /** Switches the layer family, keeping the rank of the preset of that family when it has none. */
    public RunConfig withLayer(String layer) throws IOException {
        LayerType t = LayerType.parse(layer);
        if (t.id.equals(str("model", "layer_type", "full"))) return this;
        ObjectNode copy = root.deepCopy();
        ObjectNode model = copy.has("model") ? (ObjectNode) copy.get("model") : copy.putObject("model");
        model.put("layer_type", t.id);
        // drop what the new family does not read (the rank stays for every low-rank family)
        if (t == LayerType.FULL) model.remove("rank");
        if (!t.colaParameters()) model.remove("only_lr_act");
        return new RunConfig(copy, source + " as " + t.id);
    }

    /**
     * This run extended to newSteps optimizer steps (resume of a finished or running run with more
     * steps). The cosine keeps the horizon it had (train.decay_steps stays at the old decay end) and
     * the added steps run at its final learning rate, lr x min_lr_ratio: recomputing the cosine over
     * the new total would jump the learning rate back up from its minimum at the old end (extending
     * 400 steps to 800 at step 400 would multiply it by 5.8 on the tiny preset) and undo part of
     * the decay's gain, whereas a constant tail continues exactly where the run stopped.
     */
    public RunConfig extendedTo(long newSteps) {
        if (newSteps < steps()) {
            throw new ConfigException("train.steps", newSteps + " is below the run's " + steps() + " steps: a run can be extended, not shortened");
        }
        if (newSteps == steps()) return this;
        return with(Map.of("train.decay_steps", Long.toString(decaySteps()), "train.steps", Long.toString(newSteps)));
    }

    /** A copy with one field replaced: key is "model.x" or "train.x"; value parsed by the key's type. */
    public RunConfig with(String key, String value) {
        return with(Map.of(key, value));
    }

    /**
     * A copy with several fields replaced, validated once at the end (so that, say, steps and
     * warmup_steps can be lowered together).
     */
    public RunConfig with(Map<String, String> overrides) {
        ObjectNode copy = root.deepCopy();
        StringBuilder src = new StringBuilder(source);
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            set(copy, e.getKey(), e.getValue());
            src.append(" + ").append(e.getKey()).append('=').append(e.getValue());
        }
        return new RunConfig(copy, src.toString());
    }

    private static void set(ObjectNode copy, String key, String value) {
        int dot = key.indexOf('.');
        if (dot < 0) throw new ConfigException(key, "override keys look like model.<field> or train.<field>");
        String section = key.substring(0, dot), field = key.substring(dot + 1);
        Map<String, Character> keys = keysOf(section, key);
        Character kind = keys.get(field);
        if (kind == null) throw new ConfigException(key, "unknown key; known " + section + " keys: " + keys.keySet());
        ObjectNode sec = copy.has(section) ? (ObjectNode) copy.get(section) : copy.putObject(section);
        try {
            switch (kind) {
                case 'i': sec.put(field, Long.parseLong(value.replace("_", ""))); break;
                case 'd': sec.put(field, Double.parseDouble(value)); break;
                case 'b':
                    if (!value.equals("true") && !value.equals("false")) throw new NumberFormatException();
                    sec.put(field, Boolean.parseBoolean(value)); break;
                default: sec.put(field, value);
            }
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "'" + value + "' is not a valid " + kindName(kind));
        }
    }

    private static String kindName(char k) {
        return k == 'i' ? "integer" : k == 'd' ? "number" : k == 'b' ? "boolean (true/false)" : "string";
    }

    private static Map<String, Character> keysOf(String section, String key) {
        if (section.equals("model")) return MODEL_KEYS;
        if (section.equals("train")) return TRAIN_KEYS;
        throw new ConfigException(key, "unknown section '" + section + "' (model or train)");
    }

    private void validate() {
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String s = it.next();
            if (!s.equals("model") && !s.equals("train") && !s.equals("description")) {
                throw new ConfigException(s, "unknown top-level key in " + source + " (model, train, description)");
            }
        }
        checkSection("model", MODEL_KEYS);
        checkSection("train", TRAIN_KEYS);
        model(0);  // builds and validates the model config (vocab checked later against the tokenizer)
        positive("train.seq_len", seqLen());
        positive("train.batch_size", batchSize());
        positive("train.grad_accum", gradAccum());
        positive("train.steps", steps());
        if (warmupSteps() < 0 || warmupSteps() >= steps()) {
            throw new ConfigException("train.warmup_steps", warmupSteps() + " must be in [0, steps=" + steps() + ")");
        }
        if (decaySteps() <= warmupSteps() || decaySteps() > steps()) {
            throw new ConfigException("train.decay_steps", decaySteps() + " must be in (warmup_steps=" + warmupSteps() + ", steps=" + steps() + "]");
        }
        if (!(lr() > 0)) throw new ConfigException("train.lr", "must be > 0, got " + lr());
        if (seqLen() > integer("model", "max_position_embeddings", 0)) {
            throw new ConfigException("train.seq_len", seqLen() + " exceeds model.max_position_embeddings " + integer("model", "max_position_embeddings", 0));
        }
        if (!(beta1() >= 0 && beta1() < 1)) throw new ConfigException("train.beta1", "must be in [0, 1), got " + beta1());
        if (!(beta2() >= 0 && beta2() < 1)) throw new ConfigException("train.beta2", "must be in [0, 1), got " + beta2());
        if (maxSkippedSteps() < 1) {
            throw new ConfigException("train.max_skipped_steps", "must be >= 1 (optimizer steps skipped in a row before the run stops), got " + maxSkippedSteps());
        }
        if (!(bucketMb() > 0 && bucketMb() <= 1024)) throw new ConfigException("train.bucket_mb", "must be in (0, 1024], got " + bucketMb());
        backendChoice(threads());   // train.backend, train.precision, train.dtype: known values, a possible combination
    }

    /**
     * The backend this run trains on (train.backend, train.precision, train.dtype) with {@code
     * threads} CPU threads. An unknown value or an impossible combination is a ConfigException
     * naming the field.
     */
    public BackendChoice backendChoice(int threads) {
        try {
            return BackendChoice.of("train.backend", backend(), "train.precision", precision(), "train.dtype", dtype(), threads, 0);
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            String field = m.startsWith("train.precision") ? "train.precision" : m.startsWith("train.dtype") ? "train.dtype" : "train.backend";
            String problem = m.substring(field.length()).replaceFirst("^[:\\s]+", "");
            throw new ConfigException(field, problem + " (" + source + ")");
        }
    }

    private static void positive(String field, long v) {
        if (v <= 0) throw new ConfigException(field, "must be > 0, got " + v);
    }

    private void checkSection(String section, Map<String, Character> keys) {
        JsonNode sec = root.get(section);
        if (sec == null) throw new ConfigException(section, "missing section in " + source);
        for (Iterator<Map.Entry<String, JsonNode>> it = sec.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Character kind = keys.get(e.getKey());
            String name = section + "." + e.getKey();
            if (kind == null) throw new ConfigException(name, "unknown key in " + source + "; known: " + keys.keySet());
            JsonNode v = e.getValue();
            boolean ok = kind == 'i' ? v.isIntegralNumber() : kind == 'd' ? v.isNumber() : kind == 'b' ? v.isBoolean() : v.isTextual();
            if (!ok) throw new ConfigException(name, v + " in " + source + " is not a " + kindName(kind));
        }
    }

    // ---- typed access ----

    private JsonNode field(String section, String key) { return root.path(section).get(key); }

    private long integer(String section, String key, long dflt) {
        JsonNode v = field(section, key);
        return v == null ? dflt : v.asLong();
    }

    private double number(String section, String key, double dflt) {
        JsonNode v = field(section, key);
        return v == null ? dflt : v.asDouble();
    }

    private String str(String section, String key, String dflt) {
        JsonNode v = field(section, key);
        return v == null ? dflt : v.asText();
    }

    private int requiredInt(String key) {
        JsonNode v = field("model", key);
        if (v == null) throw new ConfigException("model." + key, "missing in " + source);
        return v.asInt();
    }

    /**
     * Whether a family reads a config key: model.rank only the low-rank families, model.only_lr_act
     * only cola and cola-m; every other key all of them. {@link #model} refuses a key its family does
     * not read; compare, which applies one --set list to several families, skips it for them.
     */
    public static boolean readsKey(String key, LayerType t) {
        switch (key) {
            case "model.rank": return t != LayerType.FULL;
            case "model.only_lr_act": return t.colaParameters();
            default: return true;
        }
    }

    /** The model; vocab_size comes from the config if set, else from the tokenizer's vocabulary. */
    public ModelConfig model(int tokenizerVocab) {
        long configured = integer("model", "vocab_size", 0);
        if (configured > 0 && tokenizerVocab > 0 && configured < tokenizerVocab) {
            throw new ConfigException("model.vocab_size", configured + " is smaller than the vocabulary of tokenizer " + tokenizer() + " (" + tokenizerVocab + ")");
        }
        int vocab = (int) (configured > 0 ? configured : Math.max(1, tokenizerVocab));
        LayerType t = LayerType.parse(str("model", "layer_type", "full"));
        // keys that only some families read: set on another family they would be silently ignored
        if (!readsKey("model.rank", t) && field("model", "rank") != null) {
            throw new ConfigException("model.rank", "applies to the low-rank layer types only; layer_type is full (" + source + ")");
        }
        if (!readsKey("model.only_lr_act", t) && field("model", "only_lr_act") != null) {
            throw new ConfigException("model.only_lr_act", "applies to cola and cola-m only; layer_type is " + t.id + " (" + source + ")");
        }
        return new ModelConfig(vocab, requiredInt("hidden_size"), requiredInt("intermediate_size"),
                requiredInt("num_hidden_layers"), requiredInt("num_attention_heads"),
                number("model", "rms_norm_eps", 1e-6), number("model", "rope_theta", 10000.0),
                (int) integer("model", "max_position_embeddings", 1024), t,
                t == LayerType.FULL ? 0 : (int) integer("model", "rank", 0),
                root.path("model").path("only_lr_act").asBoolean(false), number("model", "initializer_range", 0.02));
    }

    /** The tokenizer of a run that does not set train.tokenizer. */
    public static final String DEFAULT_TOKENIZER = "gpt2-32k";

    public String tokenizer() { return str("train", "tokenizer", DEFAULT_TOKENIZER); }
    public int seqLen() { return (int) integer("train", "seq_len", 256); }
    public int batchSize() { return (int) integer("train", "batch_size", 8); }
    public int gradAccum() { return (int) integer("train", "grad_accum", 1); }
    public long steps() { return integer("train", "steps", 1000); }
    public long warmupSteps() { return integer("train", "warmup_steps", 0); }
    /**
     * The step at which the cosine reaches lr x min_lr_ratio; the learning rate stays there until
     * steps. Equal to steps unless the run was extended ({@link #extendedTo}).
     */
    public long decaySteps() { return integer("train", "decay_steps", steps()); }
    public double lr() { return number("train", "lr", 1e-3); }
    public double minLrRatio() { return number("train", "min_lr_ratio", 0.1); }
    public double weightDecay() { return number("train", "weight_decay", 0.01); }
    public double beta1() { return number("train", "beta1", 0.9); }
    public double beta2() { return number("train", "beta2", 0.999); }
    public double eps() { return number("train", "eps", 1e-8); }
    public double gradClip() { return number("train", "grad_clip", 0.0); }
    public long seed() { return integer("train", "seed", 42); }
    public long evalEvery() { return integer("train", "eval_every", 0); }
    public int evalBatches() { return (int) integer("train", "eval_batches", 8); }
    public long checkpointEvery() { return integer("train", "checkpoint_every", 0); }
    public long logEvery() { return integer("train", "log_every", 10); }
    public int threads() { return (int) integer("train", "threads", Runtime.getRuntime().availableProcessors()); }
    /** ELAS: optimizer steps trained dense before 2:4 activation sparsity starts (methods.md: 1000). */
    public long denseWarmupSteps() { return integer("train", "dense_warmup_steps", DEFAULT_DENSE_WARMUP_STEPS); }
    public static final long DEFAULT_DENSE_WARMUP_STEPS = 1000;
    /**
     * Optimizer steps in a row whose gradient norm or loss is non-finite (each skipped on every
     * worker) before the run stops with a report.
     */
    public int maxSkippedSteps() { return (int) integer("train", "max_skipped_steps", 5); }
    public String dtype() { return str("train", "dtype", "float32"); }
    /** cpu (default) or cuda; null when the config does not say (the cpu backend). */
    public String backend() { return str("train", "backend", null); }
    /** f32 (default) or bf16 (cuda only); null when the config does not say. */
    public String precision() { return str("train", "precision", null); }
    /**
     * Data-parallel runs: gradient bucket size in MB. The all-reduce of a bucket starts as soon as
     * the backward pass has finished writing it, so smaller buckets overlap more of the
     * communication with the backward pass, larger ones pay less per-message overhead.
     */
    public double bucketMb() { return number("train", "bucket_mb", 25.0); }

    public ObjectNode toJson() { return root.deepCopy(); }

    public static RunConfig fromJson(JsonNode n, String source) {
        if (!(n instanceof ObjectNode)) throw new ConfigException("run_config", source + " must be a JSON object");
        return new RunConfig(((ObjectNode) n).deepCopy(), source);
    }
}
