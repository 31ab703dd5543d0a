#!/usr/bin/env bash
# Builds liblowrank_native.so with CMake, runs the C++ tests (ctest) and copies
# the library into the jar resources. Called by Maven (exec-maven-plugin,
# phase process-classes; see pom.xml), usable by hand:
#
#   native-kernels/build-native.sh <module dir> <build dir> <classes dir> [skipTests] [java.home]
#
# A missing tool (cmake >= 3.16, a C++17 compiler) or a platform other than
# linux-x86_64 is NOT an error: it prints a warning and exits 0, the jar has no
# native library and Java uses Sparse24Java. A compile or test failure IS an
# error. Then builds native-kernels/cuda (see cuda/build-cuda.sh). LOWRANK_NATIVE_JOBS (default 2) = parallel compile jobs.
set -u
BASE=${1:?module dir}
BUILD=${2:?build dir}
CLASSES=${3:?classes dir}
SKIPTESTS=${4:-false}
JHOME=${5:-${JAVA_HOME:-}}
JOBS=${LOWRANK_NATIVE_JOBS:-2}

skip() {
  echo "[WARNING] lowrank-native: $*; skipping the native build. The jar will not contain" \
       "liblowrank_native.so and the Java fallback (Sparse24Java) will be used." >&2
  exit 0
}

[ "$(uname -s)" = "Linux" ] && [ "$(uname -m)" = "x86_64" ] || skip "platform $(uname -s)/$(uname -m) is not linux-x86_64"
command -v cmake >/dev/null 2>&1 || skip "cmake not found"
CMV=$(cmake --version | head -1 | sed -E 's/[^0-9]*([0-9]+)\.([0-9]+).*/\1 \2/')
set -- $CMV
{ [ "${1:-0}" -gt 3 ] || { [ "${1:-0}" -eq 3 ] && [ "${2:-0}" -ge 16 ]; }; } || skip "cmake $CMV is older than 3.16"
CXX_BIN=${CXX:-c++}
command -v "$CXX_BIN" >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || skip "no C++ compiler (c++/g++) found"

set -e
cmake -S "$BASE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release ${JHOME:+-DLOWRANK_JAVA_HOME="$JHOME"} >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
grep -E "WARNING|JNI" "$BUILD.configure.log" || true
cmake --build "$BUILD" -j "$JOBS"
if [ "$SKIPTESTS" != "true" ]; then
  (cd "$BUILD" && ctest --output-on-failure)
fi
mkdir -p "$CLASSES/native/linux-x86_64"
cp "$BUILD/liblowrank_native.so" "$CLASSES/native/linux-x86_64/liblowrank_native.so"
echo "lowrank-native: packaged $CLASSES/native/linux-x86_64/liblowrank_native.so"

# the CUDA library and the host tests of its kernels' math (cuda/build-cuda.sh; without nvcc it
# prints one warning and builds the host tests only)
bash "$BASE/cuda/build-cuda.sh" "$BASE/cuda" "$BUILD-cuda" "$CLASSES" "$SKIPTESTS" "$JHOME"
