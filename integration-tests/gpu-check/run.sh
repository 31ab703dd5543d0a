#!/usr/bin/env bash
# The GPU check, as ONE command on a machine with an NVIDIA GPU, nvcc and a python3 with torch, and
# no Java and no network (bin/gpu-check-bundle built this folder):
#
#   bash run.sh              # everything, < 8 minutes; one JSON line per part, a summary last
#   bash run.sh --dry-run    # checks that every file it uses is in the bundle; runs nothing
#   bash run.sh --parts eval-grad,train30   # only the Java parts named (prefixes; see gpu_check.py)
#
# Steps: unpack the bundled JRE; find cuBLASLt and cuSPARSELt (pip's nvidia/* folders via python3,
# then CUDA_HOME); build the CUDA kernels and run their tests (native-kernels/cuda/
# run-gpu-tests.sh); build the library with its JNI glue (jni.h from the bundle); then gpu_check.py: eval/grad parity against the PyTorch reference, 30 steps
# against the CPU backend's recorded losses, bench against PyTorch on the same GPU.
# Exit code 0 when every checked part passed, 1 otherwise. Work files go to $LOWRANK_GPU_CHECK_WORK
# (default: ./work next to this script).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="${LOWRANK_GPU_CHECK_WORK:-$HERE/work}"
START=$(date +%s)
BUDGET_S="${LOWRANK_GPU_CHECK_BUDGET_S:-470}"   # the whole check ends in < 8 minutes
DEADLINE=$((START + BUDGET_S))
KERNEL_TESTS_LIMIT_S=200
JNI_BUILD_LIMIT_S=120
DRY=0
PARTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --parts) PARTS="$2"; shift ;;
    *) echo "run.sh: unknown argument '$1' (--dry-run, --parts a,b)" >&2; exit 2 ;;
  esac
  shift
done

CUDA_DIR="$HERE/native-kernels/cuda"
GPU_TESTS="$CUDA_DIR/run-gpu-tests.sh"
# every file this script and gpu_check.py read from the bundle
REQUIRED=(jre.tar.gz gpu_check.py MANIFEST.txt jni-home/include/jni.h jni-home/include/linux/jni_md.h
          pytorch-ref/llama_ref.py pytorch-ref/make_fixtures.py pytorch-ref/bench_torch.py
          cpu-ref/train30.json cpu-ref/tokens.npy lib/worker-runtime.jar)

json_list() { local out="" x; for x in "$@"; do out+="${out:+, }$(json_str "$x")"; done; echo "[$out]"; }
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1" 2>/dev/null || printf '"%s"' "${1//\"/\'}"; }
emit() { echo "$1"; echo "$1" >> "$WORK/results.jsonl"; }

missing=()
for f in "${REQUIRED[@]}"; do [ -e "$HERE/$f" ] || missing+=("$f"); done
if [ "$DRY" = 1 ]; then
  mkdir -p "$WORK"; : > "$WORK/results.jsonl"
  status=pass
  [ ${#missing[@]} -eq 0 ] || status=fail
  cuda=absent; [ -d "$CUDA_DIR" ] && cuda=present
  [ "$cuda" = present ] && [ ! -f "$GPU_TESTS" ] && cuda="present-without-run-gpu-tests.sh"
  py=skipped
  if command -v python3 >/dev/null 2>&1; then
    if python3 -m py_compile "$HERE/gpu_check.py" 2>/dev/null; then py=ok; else py=fail; status=fail; fi
    rm -rf "$HERE/__pycache__"
  fi
  emit "{\"part\": \"dry-run\", \"status\": \"$status\", \"missing\": $(json_list "${missing[@]}"), \"cuda_sources\": \"$cuda\", \"gpu_check_py\": \"$py\", \"jars\": $(ls "$HERE"/lib/*.jar 2>/dev/null | wc -l)}"
  if [ "$py" = ok ]; then
    python3 "$HERE/gpu_check.py" --bundle "$HERE" --work "$WORK" --java /nonexistent/java --deadline "$DEADLINE" --dry-run ${PARTS:+--parts "$PARTS"}
    rm -rf "$HERE/__pycache__"
  fi
  [ "$status" = pass ]; exit $?
fi
mkdir -p "$WORK"
: > "$WORK/results.jsonl"
if [ ${#missing[@]} -ne 0 ]; then
  emit "{\"part\": \"bundle\", \"status\": \"fail\", \"missing\": $(json_list "${missing[@]}")}"
  exit 1
fi

# ---- 1. the JRE ---------------------------------------------------------------------------------
rm -rf "$WORK/jre"
tar -xzf "$HERE/jre.tar.gz" -C "$WORK"
JAVA="$WORK/jre/bin/java"
if ! jv=$("$JAVA" -version 2>&1 | head -1); then
  emit "{\"part\": \"jre\", \"status\": \"fail\", \"error\": $(json_str "$jv")}"; exit 1
fi
emit "{\"part\": \"jre\", \"status\": \"pass\", \"version\": $(json_str "$jv")}"

# ---- 2. GPU, cuBLASLt, cuSPARSELt -----------------------------------------------------------------
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)
emit "{\"part\": \"gpu\", \"status\": \"info\", \"nvidia_smi\": $(json_str "$gpu"), \"nvcc\": $(json_str "$(nvcc --version 2>&1 | tail -1)"), \"torch\": $(json_str "$(python3 -c 'import torch; print(torch.__version__, torch.cuda.is_available())' 2>&1 | tail -1)")}"
SEARCHED=()
LIBDIRS=()
INCDIRS=()
SITE=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null || true)
if [ -n "$SITE" ]; then
  for d in "$SITE"/nvidia/*/lib; do [ -d "$d" ] && SEARCHED+=("$d"); done
  for d in "$SITE"/nvidia/*/include; do [ -d "$d" ] && INCDIRS+=("$d"); done
fi
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
for d in "$CUDA_HOME/lib64" "$CUDA_HOME/targets/x86_64-linux/lib"; do [ -d "$d" ] && SEARCHED+=("$d"); done
[ -d "$CUDA_HOME/include" ] && INCDIRS+=("$CUDA_HOME/include")
find_lib() {   # first file named $1* in the searched folders
  local d f
  for d in "${SEARCHED[@]}"; do
    for f in "$d"/$1*; do [ -e "$f" ] && { echo "$f"; return 0; }; done
  done
  return 1
}
CUBLASLT=$(find_lib libcublasLt.so) || CUBLASLT=""
CUSPARSELT=$(find_lib libcusparseLt.so) || CUSPARSELT=""
[ -n "$CUBLASLT" ] && LIBDIRS+=("$(dirname "$CUBLASLT")")
[ -n "$CUSPARSELT" ] && LIBDIRS+=("$(dirname "$CUSPARSELT")")
export LOWRANK_CUBLASLT="$CUBLASLT" LOWRANK_CUSPARSELT="$CUSPARSELT"
export LOWRANK_CUDA_INCLUDE_DIRS="$(IFS=:; echo "${INCDIRS[*]:-}")"
export LD_LIBRARY_PATH="$(IFS=:; echo "${LIBDIRS[*]:-}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
libstatus=pass; [ -n "$CUBLASLT" ] || libstatus=fail
emit "{\"part\": \"libraries\", \"status\": \"$libstatus\", \"cublaslt\": $(json_str "$CUBLASLT"), \"cusparselt\": $(json_str "$CUSPARSELT"), \"searched\": $(json_str "${SEARCHED[*]:-}"), \"include_dirs\": $(json_str "$LOWRANK_CUDA_INCLUDE_DIRS")}"

# ---- 3. build the CUDA library and run its kernel tests -------------------------------------------
JVM_OPTS=""
if [ ! -d "$CUDA_DIR" ]; then
  emit "{\"part\": \"kernel-tests\", \"status\": \"fail\", \"error\": \"this bundle has no native-kernels/cuda: it was built from a tree without the CUDA sources: no kernel tests, and --backend cuda says which library is missing\"}"
elif [ ! -f "$GPU_TESTS" ]; then
  emit "{\"part\": \"kernel-tests\", \"status\": \"fail\", \"error\": \"native-kernels/cuda has no run-gpu-tests.sh\"}"
else
  t0=$(date +%s)
  # run-gpu-tests.sh builds the kernels and their checks (no JNI) into the folder it is given
  timeout "$KERNEL_TESTS_LIMIT_S" bash "$GPU_TESTS" "$WORK/cuda-tests-build" > "$WORK/kernel-tests.out" 2> "$WORK/kernel-tests.err"
  rc=$?
  grep '^{' "$WORK/kernel-tests.out" | tee -a "$WORK/results.jsonl"
  failed=$(grep '^{' "$WORK/kernel-tests.out" | grep -cE '"ok": ?false|"status": ?"fail"' || true)
  st=pass; { [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; } && st=fail
  emit "{\"part\": \"kernel-tests\", \"status\": \"$st\", \"exit\": $rc, \"failed_lines\": $failed, \"seconds\": $(( $(date +%s) - t0 )), \"stderr_tail\": $(json_str "$(tail -c 800 "$WORK/kernel-tests.err")")}"

fi
# the library the Java backend loads: the one mvn built into the bundled jars (when nvcc was present
# where the bundle was made), else the same sources with the JNI glue built here against the jni.h
# shipped in the bundle (the GPU machine has no JDK)
BUNDLED=$(python3 -c '
import os, sys, zipfile
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    if f.endswith(".jar") and "native/linux-x86_64/liblowrank_cuda.so" in zipfile.ZipFile(os.path.join(d, f)).namelist():
        print(f); break
' "$HERE/lib" 2>/dev/null || true)
if [ -z "$(nvidia-smi -L 2>/dev/null | grep -i gpu)" ]; then
  emit "{\"part\": \"cuda-jni-build\", \"status\": \"skip\", \"reason\": \"no GPU visible to nvidia-smi: nothing to load the library on\"}"
elif [ -n "$BUNDLED" ]; then
  emit "{\"part\": \"cuda-jni-build\", \"status\": \"info\", \"library\": \"lib/$BUNDLED: native/linux-x86_64/liblowrank_cuda.so, built with the jars\"}"
elif [ -f "$GPU_TESTS" ]; then
  t0=$(date +%s)
  NVCC_BIN="${LOWRANK_NVCC:-$(command -v nvcc || echo "$CUDA_HOME/bin/nvcc")}"
  GEN=""; command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
  out=$(timeout "$JNI_BUILD_LIMIT_S" cmake -S "$CUDA_DIR" -B "$WORK/cuda-jni-build" $GEN -DCMAKE_BUILD_TYPE=Release \
          -DLOWRANK_NVCC="$NVCC_BIN" -DLOWRANK_CUDA_JNI=ON -DLOWRANK_JAVA_HOME="$HERE/jni-home" 2>&1 \
        && timeout "$JNI_BUILD_LIMIT_S" cmake --build "$WORK/cuda-jni-build" -j "$(nproc)" 2>&1)
  rc=$?
  LIB=$(find "$WORK/cuda-jni-build" -name 'liblowrank_cuda*.so' 2>/dev/null | head -1)
  st=pass; { [ "$rc" -ne 0 ] || [ -z "$LIB" ]; } && st=fail
  emit "{\"part\": \"cuda-jni-build\", \"status\": \"$st\", \"exit\": $rc, \"library\": $(json_str "$LIB"), \"seconds\": $(( $(date +%s) - t0 )), \"output_tail\": $(json_str "$(printf '%s' "$out" | grep -iE 'error|warning' | tail -5)")}"
  if [ -n "$LIB" ]; then
    JVM_OPTS="-Dlowrank.cuda.path=$LIB -Djava.library.path=$(dirname "$LIB")"
    export LD_LIBRARY_PATH="$(dirname "$LIB"):$LD_LIBRARY_PATH" LOWRANK_CUDA_LIBRARY="$LIB"
  fi
fi

# ---- 4. the Java parts ----------------------------------------------------------------------------
python3 "$HERE/gpu_check.py" --bundle "$HERE" --work "$WORK" --java "$JAVA" --deadline "$DEADLINE" \
  --jvm-opts "$JVM_OPTS" ${PARTS:+--parts "$PARTS"} | tee -a "$WORK/results.jsonl"
rm -rf "$HERE/pytorch-ref/__pycache__" "$HERE/__pycache__"

# ---- summary --------------------------------------------------------------------------------------
python3 - "$WORK/results.jsonl" "$START" <<'EOF'
import json, sys, time
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
# gpu_check.py's lines say "status": "fail"; run-gpu-tests.sh's say "ok": false
failed = sorted({str(r.get("part") or r.get("step") or r.get("test") or r.get("name") or "kernel-test")
                 for r in recs if r.get("status") == "fail" or r.get("ok") is False})
tgt = next((r.get("targets") for r in recs if r.get("part") == "summary-java"), None)
print(json.dumps({"part": "summary", "status": "fail" if failed else "pass", "failed": failed,
                  "skipped": [r.get("part") for r in recs if r.get("status") == "skip"],
                  "parts": len(recs), "targets": tgt, "seconds": round(time.time() - float(sys.argv[2]), 1)}))
sys.exit(1 if failed else 0)
EOF
