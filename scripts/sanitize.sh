#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer: builds ./build-asan (or
# $BUILD_DIR) with -DCMA_SANITIZE=address,undefined and runs every test there. Any report fails
# the test that triggered it. Usage: scripts/sanitize.sh [ctest arguments, e.g. -R Tokenizer]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
start=$(date +%s)
# RelWithDebInfo: reports name files and lines; -O2 keeps the suite's run time near a release build's.
BUILD_DIR=$BUILD_DIR bash scripts/setup.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMA_SANITIZE=address,undefined \
  -DCMA_WERROR=OFF
echo "sanitize: built $BUILD_DIR in $(( $(date +%s) - start )) s"
# Leak checking is off: LibTorch and OpenMP keep per-thread pools alive until exit by design, and
# they are not instrumented, so their reports would say nothing about cma. ASan still reports
# every invalid access; UBSan every undefined operation, with its stack.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 "$@"
echo "sanitize: total $(( $(date +%s) - start )) s"
