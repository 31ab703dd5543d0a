#!/usr/bin/env bash
# Submit `lowrank train` to Kubernetes. Checked against a mock Kubernetes API server only (no real
# cluster was available): kubernetes-tests/KubernetesSubmitTest runs this script in cluster and
# client mode and asserts on the pods Spark creates. See docs/kubernetes-and-ui.md.
#
# Usage:
#   deploy/kubernetes/submit.sh [options] k8s://https://API:6443 IMAGE RUN_DIR [train options]
#   e.g. deploy/kubernetes/submit.sh --executors 4 --cores 8 --gpus 1 k8s://https://10.0.0.1:6443 \
#          registry/lowrank-worker:0.1.0-cuda s3a://bucket/runs/r1 --preset 60m --layer cola --data s3a://bucket/data/prepared-<hash>
#
# IMAGE is built from deploy/docker/Dockerfile: Spark 4.2 at /opt/spark, the application jar at
# /opt/lowrank/lowrank-spark-app.jar, this repository's conf/ and deploy/ under /opt/lowrank.
# Options (defaults in brackets):
#   --deploy-mode cluster|client  where the driver runs [cluster]; client: in this process, which the
#                                 executor pods must reach (spark.driver.host)
#   --executors N      executor pods = train workers, one worker per pod [4]
#   --cores N          cores per executor = threads per worker = spark.task.cpus = OMP_NUM_THREADS [8]
#   --memory SIZE      executor Java heap [8g]
#   --overhead SIZE    executor memory outside the heap: ND4J buffers, the native kernels and the
#                      memory-backed /dev/shm of the pod template (1Gi of Aeron log buffers), all
#                      counted in the pod's memory limit = memory + overhead [16g]
#   --gpus N           GPUs per executor (nvidia.com/gpu limit; discovery by
#                      /opt/lowrank/deploy/gpu/discover-gpus.sh in the image) [0]
#   --namespace NS     [default]
#   --service-account SA   the driver pod's service account, allowed to create and delete pods,
#                      services and configmaps in NS [spark]
#   --volcano          gang scheduling by Volcano: all executors placed at once, or none (barrier
#                      stages need every worker); needs Volcano installed in the cluster
#   --conf KEY=VALUE   any further Spark setting (repeatable)
#   SPARK_HOME         a Spark 4.2 (Scala 2.13) installation with Kubernetes support on this machine
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
usage() { sed -n '5,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

DEPLOY_MODE=cluster EXECUTORS=4 CORES=8 MEMORY=8g OVERHEAD=16g GPUS=0 NAMESPACE=default SERVICE_ACCOUNT=spark VOLCANO=0
EXTRA_CONF=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deploy-mode) DEPLOY_MODE="$2"; shift 2 ;;
    --executors) EXECUTORS="$2"; shift 2 ;;
    --cores) CORES="$2"; shift 2 ;;
    --memory) MEMORY="$2"; shift 2 ;;
    --overhead) OVERHEAD="$2"; shift 2 ;;
    --gpus) GPUS="$2"; shift 2 ;;
    --namespace) NAMESPACE="$2"; shift 2 ;;
    --service-account) SERVICE_ACCOUNT="$2"; shift 2 ;;
    --volcano) VOLCANO=1; shift ;;
    --conf) EXTRA_CONF+=(--conf "$2"); shift 2 ;;
    -h|--help) usage ;;
    --*) echo "submit.sh: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] || { echo "submit.sh: need K8S_MASTER IMAGE RUN_DIR, got: $*" >&2; usage; }
MASTER="$1"; IMAGE="$2"; RUN_DIR="$3"; shift 3
case "$MASTER" in k8s://*) ;; *) echo "submit.sh: the master must be k8s://https://HOST:PORT, got $MASTER" >&2; exit 2 ;; esac
case "$DEPLOY_MODE" in cluster|client) ;; *) echo "submit.sh: --deploy-mode is cluster or client, got $DEPLOY_MODE" >&2; exit 2 ;; esac
SPARK_SUBMIT="${SPARK_HOME:?set SPARK_HOME to a Spark 4.2 installation with Kubernetes support}/bin/spark-submit"

# Paths inside the image (deploy/docker/Dockerfile lays them out; kubernetes-tests checks they exist)
APP=/opt/lowrank
if [ "$DEPLOY_MODE" = cluster ]; then
  JAR="local://$APP/lowrank-spark-app.jar"
else
  # client mode: the driver runs here, from this checkout's build (or LOWRANK_APP_JAR)
  JAR="${LOWRANK_APP_JAR:-$(ls "$ROOT"/spark-driver/target/lowrank-spark-app-*.jar 2>/dev/null | head -1)}"
  [ -f "$JAR" ] || { echo "submit.sh: client mode runs the driver here and needs the application jar: build it (mvn -DskipTests package) or set LOWRANK_APP_JAR" >&2; exit 2; }
fi
# Aeron (Agrona) needs jdk.internal.misc; the native kernels come from the image, not extracted per
# JVM; ND4J (JavaCPP) unpacks its ~350 MB of native libraries per pod into a writable directory
JAVA_OPTS="--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED -Dlowrank.native.path=$APP/native/liblowrank_native.so -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp-cache"
# a client-mode driver runs here, outside the image
DRIVER_JAVA_OPTS="$JAVA_OPTS"
[ "$DEPLOY_MODE" = client ] && DRIVER_JAVA_OPTS="--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --enable-native-access=ALL-UNNAMED"

CONF=(
  --conf spark.kubernetes.namespace="$NAMESPACE"
  --conf spark.kubernetes.container.image="$IMAGE"
  --conf spark.kubernetes.authenticate.driver.serviceAccountName="$SERVICE_ACCOUNT"
  --conf spark.kubernetes.executor.podTemplateFile="$ROOT/deploy/kubernetes/executor-pod-template.yaml"
  --conf spark.executor.instances="$EXECUTORS"
  --conf spark.executor.cores="$CORES" --conf spark.task.cpus="$CORES"
  --conf spark.kubernetes.executor.request.cores="$CORES"
  --conf spark.executorEnv.OMP_NUM_THREADS="$CORES"
  --conf spark.executor.memory="$MEMORY" --conf spark.executor.memoryOverhead="$OVERHEAD"
  --conf spark.executor.extraJavaOptions="$JAVA_OPTS"
  --conf spark.driver.extraJavaOptions="$DRIVER_JAVA_OPTS"
  # a lost executor fails the barrier stage; train retries the chunk (see deploy/README.md)
  --conf spark.kubernetes.executor.deleteOnTermination=true
)
if [ "$GPUS" -gt 0 ]; then
  CONF+=(
    --conf spark.executor.resource.gpu.amount="$GPUS"
    --conf spark.executor.resource.gpu.vendor=nvidia.com
    --conf spark.executor.resource.gpu.discoveryScript="$APP/deploy/gpu/discover-gpus.sh"
    --conf spark.task.resource.gpu.amount="$GPUS"
  )
fi
if [ "$VOLCANO" = 1 ]; then
  # one PodGroup per application whose minMember covers the driver and every executor
  PODGROUP="$(mktemp -t lowrank-podgroup-XXXXXX.yaml)"
  printf 'apiVersion: scheduling.volcano.sh/v1beta1\nkind: PodGroup\nspec:\n  minMember: %d\n' $((EXECUTORS + 1)) >"$PODGROUP"
  CONF+=(
    --conf spark.kubernetes.scheduler.name=volcano
    --conf spark.kubernetes.scheduler.volcano.podGroupTemplateFile="$PODGROUP"
    --conf spark.kubernetes.driver.pod.featureSteps=org.apache.spark.deploy.k8s.features.VolcanoFeatureStep
    --conf spark.kubernetes.executor.pod.featureSteps=org.apache.spark.deploy.k8s.features.VolcanoFeatureStep
  )
fi

exec "$SPARK_SUBMIT" \
  --master "$MASTER" --deploy-mode "$DEPLOY_MODE" \
  --properties-file "$ROOT/conf/spark-defaults.conf" \
  "${CONF[@]}" "${EXTRA_CONF[@]}" \
  --class io.lowrank.spark.SparkMain \
  "$JAR" \
  train --workers "$EXECUTORS" --threads "$CORES" --run-dir "$RUN_DIR" "$@"
