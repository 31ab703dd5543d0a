package io.lowrank.worker.model;

import io.lowrank.worker.tensor.Backend;
import io.lowrank.worker.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All parameters of a model in one flat buffer and all their gradients in another, each parameter a
 * named view. One flat buffer lets the optimizer, the global-norm clip, checkpointing and the
 * gradient all-reduce each walk every parameter in one pass, in a fixed order.
 */
public final class ParameterStore {
    public static final class Param {
        public final String name;
        public final Tensor value;
        public final Tensor grad;
        /** Flat offset of this parameter in {@link #values()} and {@link #grads()}. */
        public final int offset;

        Param(String name, Tensor value, Tensor grad, int offset) {
            this.name = name;
            this.value = value;
            this.grad = grad;
            this.offset = offset;
        }
    }

    private final List<Param> params;
    private final Map<String, Param> byName;
    private final Tensor values;
    private final Tensor grads;
    private final Backend backend;

    /** Allocates storage for the given (ordered) name -> shape layout, values and gradients. */
    public ParameterStore(Backend backend, LinkedHashMap<String, int[]> layout) {
        this(backend, layout, true);
    }

    /**
     * withGradients false (inference): values only; every {@link Param#grad} and {@link #grads()}
     * is null, so the store holds the model's bytes and no more.
     */
    public ParameterStore(Backend backend, LinkedHashMap<String, int[]> layout, boolean withGradients) {
        long total = 0;
        for (int[] s : layout.values()) total += numel(s);
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(total + " parameters exceed one flat buffer of 2^31 elements");
        }
        this.backend = backend;
        this.values = backend.allocate((int) total);
        this.grads = withGradients ? backend.allocate((int) total) : null;
        List<Param> list = new ArrayList<>();
        Map<String, Param> map = new LinkedHashMap<>();
        int off = 0;
        for (Map.Entry<String, int[]> e : layout.entrySet()) {
            int n = (int) numel(e.getValue());
            Param p = new Param(e.getKey(), values.view(off, e.getValue()), grads == null ? null : grads.view(off, e.getValue()), off);
            list.add(p);
            map.put(p.name, p);
            off += n;
        }
        this.params = Collections.unmodifiableList(list);
        this.byName = Collections.unmodifiableMap(map);
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    public List<Param> params() { return params; }
    public Tensor values() { return values; }
    public Tensor grads() { return grads; }
    /** The backend that holds the values and gradients (host transfers go through it). */
    public Backend backend() { return backend; }
    public long count() { return values.size; }

    public Param get(String name) {
        Param p = byName.get(name);
        if (p == null) throw new IllegalArgumentException("no parameter named '" + name + "'");
        return p;
    }

    public boolean has(String name) { return byName.containsKey(name); }
}
