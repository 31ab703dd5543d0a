package io.lowrank.spark.train;

import io.lowrank.spark.fs.RunDirectory;
import io.lowrank.worker.data.ShardManifest;
import io.lowrank.worker.data.TokenFormatException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * A tokenized dataset as the training job sees it: a directory on any Hadoop file system holding
 * {@code manifest.json} and the token shards it lists.
 */
public record Dataset(String dir, String tokenizer, int vocabSize, List<String> trainShards, List<String> valShards,
                      long trainTokens) {

    public static Dataset open(String dirUri, Configuration conf) throws IOException {
        Path dir = new Path(dirUri);
        FileSystem fs = dir.getFileSystem(conf);
        Path manifestFile = new Path(dir, ShardManifest.FILE_NAME);
        if (!fs.isFile(manifestFile)) {
            throw new TokenFormatException(dirUri + " is not a prepared dataset: " + manifestFile
                    + " does not exist (run `lowrank prepare`, or pass --corpus to tokenize one)");
        }
        java.nio.file.Path tmp = Files.createTempDirectory("lowrank-manifest-");
        try {
            fs.copyToLocalFile(false, manifestFile, new Path(tmp.resolve(ShardManifest.FILE_NAME).toUri()), true);
            ShardManifest m = ShardManifest.read(tmp);
            String qualified = fs.makeQualified(dir).toString();
            return new Dataset(qualified, m.tokenizer(), m.vocabSize(), uris(qualified, m.train()), uris(qualified, m.val()),
                    m.train().tokens());
        } finally {
            Files.deleteIfExists(tmp.resolve(ShardManifest.FILE_NAME));
            Files.deleteIfExists(tmp);
        }
    }

    private static List<String> uris(String dir, ShardManifest.Split split) {
        List<String> out = new ArrayList<>();
        for (ShardManifest.Shard s : split.shards()) out.add(new Path(dir, s.file()).toString());
        return out;
    }

    static String qualify(String uri, Configuration conf) throws IOException {
        return RunDirectory.qualify(uri, conf);
    }
}
