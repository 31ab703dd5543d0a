#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the kernels and their
# C++ tests (every ISA path the CPU has, 1-3 threads), then ctest.
#
#   native-kernels/run-sanitizers.sh [build dir]
#
# equivalent to:
#   cmake -S native-kernels -B native-kernels/target/native-build-sanitize \
#         -DCMAKE_BUILD_TYPE=Debug -DLOWRANK_SANITIZE=ON -DLOWRANK_JNI=OFF -DLOWRANK_BENCH=OFF
#   cmake --build native-kernels/target/native-build-sanitize -j2
#   ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
#     ctest --test-dir native-kernels/target/native-build-sanitize --output-on-failure
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/target/native-build-sanitize}
cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DLOWRANK_SANITIZE=ON \
      -DLOWRANK_JNI=OFF -DLOWRANK_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j "${LOWRANK_NATIVE_JOBS:-2}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
(cd "$BUILD" && ctest --output-on-failure)
echo "sanitizers: all C++ tests passed under -fsanitize=address,undefined"
