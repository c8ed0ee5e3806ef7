#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer, built into ./build-asan (or
# $BUILD_DIR) with -DCMA_SANITIZE=address,undefined. Any report fails the test that triggered it.
#   CMA_SANITIZE_SCOPE=torch-free (default): the LibTorch-free suites (cma_tests_base: parsers,
#     tokenizer, images, frame cache, loader, sampler, metrics), a few minutes to build.
#   CMA_SANITIZE_SCOPE=labelled: those, and the LibTorch tests labelled `sanitize` (tests/CMakeLists.txt:
#     the readers of checkpoints, adapter and weights files, conversions), through ctest; what CI runs.
#   CMA_SANITIZE_SCOPE=all: every suite, through ctest (47 minutes on 2 cores): run it before changing
#     memory-heavy code.
# Extra arguments go to the test runner (a --gtest_filter=..., or ctest's -R ...).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
SCOPE=${CMA_SANITIZE_SCOPE:-torch-free}
start=$(date +%s)
# -O2 keeps the run time near a release build's; -g1 (line tables, no variable descriptions) is
# enough for reports that name files and lines, and compiles far faster than -g against LibTorch.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMA_SANITIZE=address,undefined \
  -DCMA_TEST_TIMEOUT_SCALE=4 >/dev/null
# Leak checking is off: LibTorch and OpenMP keep per-thread pools alive until exit by design, and
# they are not instrumented, so their reports would say nothing about cma. ASan still reports every
# invalid access, UBSan every undefined operation, with its stack.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
case "$SCOPE" in
  torch-free)
    cmake --build "$BUILD_DIR" -j "$(nproc)" --target cma_tests_base
    echo "sanitize: built in $(( $(date +%s) - start )) s"
    "$BUILD_DIR/tests/cma_tests_base" "$@"
    ;;
  labelled)
    cmake --build "$BUILD_DIR" -j "$(nproc)"
    echo "sanitize: built in $(( $(date +%s) - start )) s"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 -L 'torch_free|sanitize' "$@"
    ;;
  all)
    cmake --build "$BUILD_DIR" -j "$(nproc)"
    echo "sanitize: built in $(( $(date +%s) - start )) s"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 "$@"
    ;;
  *)
    echo "sanitize: CMA_SANITIZE_SCOPE must be torch-free, labelled or all, not '$SCOPE'" >&2
    exit 2
    ;;
esac
echo "sanitize: total $(( $(date +%s) - start )) s"
