package io.lowrank.spark.prepare;

import io.lowrank.worker.data.TextTokenizer;
import io.lowrank.worker.data.Tokenizers;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One tokenizer of each name per JVM: loading the BPE tables takes about half a second, and
 * tokenizers are immutable and thread-safe, so every task of an executor shares one.
 */
final class TokenizerCache {
    private static final ConcurrentHashMap<String, TextTokenizer> CACHE = new ConcurrentHashMap<>();

    private TokenizerCache() {
    }

    static TextTokenizer get(String name) {
        return CACHE.computeIfAbsent(name, Tokenizers::byName);
    }
}
