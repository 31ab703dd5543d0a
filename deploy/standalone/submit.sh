#!/usr/bin/env bash
# Submit lowrank train to a standalone cluster. Usage:
#   deploy/standalone/submit.sh spark://master:7077 hdfs:///runs/r1 hdfs:///data/prepared-<hash> [extra train options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MASTER="$1"; RUN_DIR="$2"; DATA="$3"; shift 3
exec "${SPARK_HOME:?set SPARK_HOME to a Spark 4.2 installation}/bin/spark-submit" \
  --master "$MASTER" --deploy-mode client \
  --properties-file "$ROOT/conf/spark-defaults.conf" \
  --driver-java-options "$(grep -v '^#' "$ROOT/conf/spark-jvm-options" | tr '\n' ' ')" \
  --class io.lowrank.spark.SparkMain \
  "$ROOT"/spark-driver/target/lowrank-spark-app-*.jar \
  train --preset 60m --layer cola --workers 4 --data "$DATA" --run-dir "$RUN_DIR" "$@"
