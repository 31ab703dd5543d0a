#!/usr/bin/env bash
# Submit a lowrank command (train, prepare, eval...) to YARN, with what a real cluster needs.
#
#   export HADOOP_CONF_DIR=/etc/hadoop/conf SPARK_HOME=/opt/spark-4.2.0
#   deploy/yarn/submit.sh prepare --input hdfs:///corpora/c4 --output hdfs:///data/prepared
#   deploy/yarn/submit.sh --queue research --executor-cores 8 \
#       train --preset 60m --layer cola --workers 4 --data hdfs:///data/prepared/<hash> --run-dir hdfs:///runs/r1
#   deploy/yarn/submit.sh --executors 4 train --resume hdfs:///runs/r1     # a lost driver: continue in a new application
#
# Options (before the lowrank command; defaults in brackets):
#   --deploy-mode cluster|client  [cluster] cluster: the driver runs in the ApplicationMaster's container, so a lost
#                                 client does not stop the run; client: the driver is this process (its stdout is the
#                                 run's progress and result line)
#   --queue NAME                  YARN queue [default]
#   --executors N                 executors, one training worker each [train's --workers, else 2]
#   --executor-cores N            cores per executor = threads per worker (spark.task.cpus) [8]
#   --executor-memory SIZE        Java heap per executor [8g]
#   --memory-overhead SIZE        container memory beyond the heap [16g]: ND4J tensors (weights, AdamW moments,
#                                 activations) and the Aeron log buffers in /dev/shm are not Java heap, and YARN kills
#                                 a container whose process tree outgrows heap + overhead. Budget about
#                                 6 x model bytes + activations + 2 x 3 x term length (16 MB terms: ~100 MB).
#   --driver-memory SIZE          [4g]
#   --max-app-attempts N          [1] spark.yarn.maxAppAttempts. A second attempt re-runs the same command line, and
#                                 `train --run-dir X` refuses a directory that already holds a run: continue a run
#                                 whose driver died with `train --resume X` instead (the chunk loop's own retries and
#                                 Spark's stage retries already cover lost executors).
#   --gpus 0|1                    GPUs per executor (YARN resource yarn.io/gpu; a worker drives one); YARN does not tell
#                                 Spark which devices it granted, so deploy/gpu/discover-gpus.sh names them inside
#                                 the container (it must be readable on every node at the same path, or shipped with
#                                 --files and named ./discover-gpus.sh)
#   --gpu-discovery PATH          [deploy/gpu/discover-gpus.sh next to this script]
#   --docker-image IMAGE          run executors (and the cluster-mode driver) in YARN's Docker runtime with
#                                 /dev/shm mounted from the host (Docker's default 64 MB /dev/shm is too small for Aeron)
#   --conf KEY=VALUE              any further Spark setting (repeatable; wins over the ones set here)
#   --dry-run                     print the spark-submit command instead of running it
#
# Needs: HADOOP_CONF_DIR (or YARN_CONF_DIR) naming the cluster's client configuration; SPARK_HOME, a Spark 4.2
# (Scala 2.13) installation with YARN support; the application jar (mvn -DskipTests package).
# Executors must reach each other over UDP (the gradient ring, a random port per worker and chunk) and have
# about 100 MB free in /dev/shm each; dynamic allocation stays off (barrier stages need all workers at once).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() { echo "deploy/yarn/submit.sh: $*" >&2; exit 2; }

DEPLOY_MODE=cluster QUEUE=default EXECUTORS="" CORES=8 EXEC_MEM=8g OVERHEAD=16g DRIVER_MEM=4g ATTEMPTS=1
GPUS=0 GPU_SCRIPT="$ROOT/deploy/gpu/discover-gpus.sh" IMAGE="" DRY_RUN=0
EXTRA_CONF=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deploy-mode) DEPLOY_MODE="${2:?--deploy-mode needs client or cluster}"; shift 2 ;;
    --queue) QUEUE="${2:?--queue needs a name}"; shift 2 ;;
    --executors) EXECUTORS="${2:?--executors needs a number}"; shift 2 ;;
    --executor-cores) CORES="${2:?--executor-cores needs a number}"; shift 2 ;;
    --executor-memory) EXEC_MEM="${2:?--executor-memory needs a size}"; shift 2 ;;
    --memory-overhead) OVERHEAD="${2:?--memory-overhead needs a size}"; shift 2 ;;
    --driver-memory) DRIVER_MEM="${2:?--driver-memory needs a size}"; shift 2 ;;
    --max-app-attempts) ATTEMPTS="${2:?--max-app-attempts needs a number}"; shift 2 ;;
    --gpus) GPUS="${2:?--gpus needs a number}"; shift 2 ;;
    --gpu-discovery) GPU_SCRIPT="${2:?--gpu-discovery needs a path}"; shift 2 ;;
    --docker-image) IMAGE="${2:?--docker-image needs an image}"; shift 2 ;;
    --conf) EXTRA_CONF+=(--conf "${2:?--conf needs KEY=VALUE}"); shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) die "unknown option $1 (see --help); lowrank's own options go after the command (train, prepare...)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no lowrank command given: deploy/yarn/submit.sh [options] train|prepare|eval ... (see --help)"
case "$DEPLOY_MODE" in client|cluster) ;; *) die "--deploy-mode must be client or cluster, got '$DEPLOY_MODE'" ;; esac
case "$GPUS" in 0|1) ;; *) die "--gpus must be 0 or 1, got '$GPUS': each worker (one per executor) drives one GPU; for more GPUs use more executors and train --workers" ;; esac

CONF_DIR="${HADOOP_CONF_DIR:-${YARN_CONF_DIR:-}}"
[ -n "$CONF_DIR" ] || die "HADOOP_CONF_DIR is not set: point it at the directory with the cluster's core-site.xml and yarn-site.xml (on a gateway host usually /etc/hadoop/conf); without it spark-submit cannot find the ResourceManager and retries 0.0.0.0:8032 forever"
[ -f "$CONF_DIR/yarn-site.xml" ] || die "HADOOP_CONF_DIR=$CONF_DIR has no yarn-site.xml: it must be the cluster's client configuration directory"
[ -n "${SPARK_HOME:-}" ] || die "SPARK_HOME is not set: point it at a Spark 4.2 (Scala 2.13) installation with YARN support"
[ -x "$SPARK_HOME/bin/spark-submit" ] || die "SPARK_HOME=$SPARK_HOME has no bin/spark-submit"

shopt -s nullglob
jars=("$ROOT"/spark-driver/target/lowrank-spark-app-*.jar)
shopt -u nullglob
[ ${#jars[@]} -gt 0 ] || die "application jar not found: $ROOT/spark-driver/target/lowrank-spark-app-*.jar; build it with: mvn -DskipTests package"
[ ${#jars[@]} -eq 1 ] || die "several application jars in $ROOT/spark-driver/target (${jars[*]}); delete the stale ones"
APP_JAR="${jars[0]}"

COMMAND=("$@")
if [ -z "$EXECUTORS" ]; then
  EXECUTORS=2
  for ((i = 0; i + 1 < ${#COMMAND[@]}; i++)); do
    [ "${COMMAND[$i]}" = "--workers" ] && EXECUTORS="${COMMAND[$((i + 1))]}"
  done
fi
# one worker per executor, using all of its cores: train's thread count follows the executor's cores
if [ "${COMMAND[0]}" = "train" ] && [[ " ${COMMAND[*]} " != *" --threads "* ]]; then
  COMMAND+=(--threads "$CORES")
fi

# Aeron/Agrona reads jdk.internal.misc; Spark adds its own module flags to the AM and executors but not this one
JVM_FLAGS="--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED"
ARGS=(--master yarn --deploy-mode "$DEPLOY_MODE" --queue "$QUEUE"
  --properties-file "$ROOT/conf/spark-defaults.conf"
  --num-executors "$EXECUTORS" --executor-cores "$CORES" --executor-memory "$EXEC_MEM" --driver-memory "$DRIVER_MEM"
  --conf "spark.executor.memoryOverhead=$OVERHEAD"
  --conf "spark.task.cpus=$CORES"
  --conf "spark.executorEnv.OMP_NUM_THREADS=$CORES"
  --conf "spark.yarn.maxAppAttempts=$ATTEMPTS"
  --conf "spark.dynamicAllocation.enabled=false"
  --conf "spark.driver.extraJavaOptions=$JVM_FLAGS"
  --conf "spark.executor.extraJavaOptions=$JVM_FLAGS")
# client mode: the AM only launches executors (ExecutorLauncher) and takes its options from spark.yarn.am.*
[ "$DEPLOY_MODE" = client ] && ARGS+=(--conf "spark.yarn.am.extraJavaOptions=$JVM_FLAGS")
if [ "$GPUS" != 0 ]; then
  [ -r "$GPU_SCRIPT" ] || die "GPU discovery script $GPU_SCRIPT not readable"
  ARGS+=(--conf "spark.executor.resource.gpu.amount=$GPUS"
    --conf "spark.task.resource.gpu.amount=1"
    --conf "spark.yarn.resourceGpuDeviceName=yarn.io/gpu"
    --conf "spark.executor.resource.gpu.discoveryScript=$GPU_SCRIPT")
fi
if [ -n "$IMAGE" ]; then
  for who in executorEnv yarn.appMasterEnv; do
    ARGS+=(--conf "spark.$who.YARN_CONTAINER_RUNTIME_TYPE=docker"
      --conf "spark.$who.YARN_CONTAINER_RUNTIME_DOCKER_IMAGE=$IMAGE"
      --conf "spark.$who.YARN_CONTAINER_RUNTIME_DOCKER_MOUNTS=/dev/shm:/dev/shm:rw")
  done
fi
ARGS+=("${EXTRA_CONF[@]}" --class io.lowrank.spark.SparkMain "$APP_JAR" "${COMMAND[@]}")

if [ "$DRY_RUN" = 1 ]; then
  printf '%q' "$SPARK_HOME/bin/spark-submit"
  printf ' %q' "${ARGS[@]}"
  printf '\n'
  exit 0
fi
exec "$SPARK_HOME/bin/spark-submit" "${ARGS[@]}"
