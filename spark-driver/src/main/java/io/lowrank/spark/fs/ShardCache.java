package io.lowrank.spark.fs;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies token files from the run's file system to a local directory once per executor and
 * reuses them while the length matches (the token readers verify each shard's checksum when
 * they load it, so a damaged copy is an error, never silent). Workers read locally because the
 * cursor reads a file at a time at random positions across retries.
 */
public final class ShardCache {
    private ShardCache() {}

    public static List<java.nio.file.Path> localize(List<String> uris, Configuration conf, java.nio.file.Path cacheDir) throws IOException {
        Files.createDirectories(cacheDir);
        List<java.nio.file.Path> out = new ArrayList<>(uris.size());
        for (int i = 0; i < uris.size(); i++) {
            Path src = new Path(uris.get(i));
            FileSystem fs = src.getFileSystem(conf);
            FileStatus st;
            try {
                st = fs.getFileStatus(src);
            } catch (java.io.FileNotFoundException e) {
                throw new IOException("token file " + src + " does not exist (was the dataset moved or deleted?)", e);
            }
            java.nio.file.Path local = cacheDir.resolve(String.format("%05d-%s", i, src.getName()));
            if (!Files.isRegularFile(local) || Files.size(local) != st.getLen()) {
                java.nio.file.Path tmp = cacheDir.resolve(local.getFileName() + ".part-" + RunDirectory.randomSuffix());
                fs.copyToLocalFile(false, src, new Path(tmp.toUri()), true);
                Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            out.add(local);
        }
        return out;
    }
}
