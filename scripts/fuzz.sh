#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with Debian's clang (address + undefined-behaviour
# sanitizers, no LibTorch) and runs each for a fixed time on a copy of its seed corpus.
#
#   scripts/fuzz.sh [seconds-per-target] [build-dir]   # default: 60 s each, ./build-fuzz; 0: build only
#   scripts/fuzz.sh corpus [build-dir]                 # regenerate the binary seeds in tests/fuzz/corpus/
#
# Environment: FUZZ_TARGETS="tokenizer safetensors ..." runs a subset; FUZZ_NICE=15 runs the
# fuzzers under nice; CMA_BUILD_LOCK set: the build holds flock on it (a path) or on
# /tmp/cma-build.lock (any other value); CXX overrides clang++.
# Exits non-zero when a target finds a crash, sanitizer report, leak, timeout or out-of-memory; its
# reproducer stays in <build-dir>/run/<target>/artifacts/ and the command to replay it is printed.
# Installs nothing: it says which Debian packages are missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

MODE=run
SECONDS_PER_TARGET=60
if [ "${1:-}" = corpus ]; then
  MODE=corpus
elif [ -n "${1:-}" ]; then
  SECONDS_PER_TARGET=$1
fi
case "$SECONDS_PER_TARGET" in '' | *[!0-9]*) echo "fuzz: seconds must be a whole number, got '$1'" >&2; exit 2 ;; esac
BUILD=${2:-$ROOT/build-fuzz}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
case "$ROOT$BUILD" in *[[:space:]\$:]*) echo "fuzz: paths with spaces, '\$' or ':' are not supported" >&2; exit 2 ;; esac

# target name -> -max_len: captions and annotation files are small; the frame cache's header alone
# is 4096 bytes (plus the target's mode byte).
ALL_TARGETS=(tokenizer msrvtt_json msrvtt_csv safetensors frame_cache image_header pickle)
declare -A MAX_LEN=([tokenizer]=4096 [msrvtt_json]=8192 [msrvtt_csv]=8192 [safetensors]=8192
  [frame_cache]=8192 [image_header]=4096 [pickle]=4096)
declare -A DICT=([tokenizer]=tokenizer.dict [msrvtt_json]=json.dict [msrvtt_csv]=msrvtt_csv.dict
  [safetensors]=json.dict)
# Project sources each target compiles (torch-free; no OpenCV).
declare -A SOURCES=(
  [tokenizer]="src/data/tokenizer.cpp src/data/text_clean.cpp src/data/unicode.cpp src/data/html_entities.cpp src/core/log.cpp"
  [msrvtt_json]="src/data/msrvtt.cpp src/data/annotation_files.cpp src/core/log.cpp"
  [msrvtt_csv]="src/data/msrvtt.cpp src/data/annotation_files.cpp src/core/log.cpp"
  [safetensors]="src/core/safetensors.cpp src/core/atomic_file.cpp src/core/log.cpp"
  [frame_cache]="src/data/frame_cache.cpp src/data/frame_cache_format.cpp src/core/log.cpp"
  [image_header]="src/data/image_header.cpp"
  [pickle]="src/data/pickle.cpp src/data/pickle_text.cpp src/data/annotation_files.cpp src/core/log.cpp"
  [make_corpus]="src/core/safetensors.cpp src/core/atomic_file.cpp src/core/log.cpp src/data/frame_cache.cpp
    src/data/frame_cache_format.cpp src/data/frame_cache_writer.cpp src/data/msrvtt.cpp src/data/annotation_files.cpp")
TARGETS=(${FUZZ_TARGETS:-${ALL_TARGETS[@]}})
for t in "${TARGETS[@]}"; do
  [ -n "${MAX_LEN[$t]:-}" ] || { echo "fuzz: unknown target '$t' (have: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

# ---- tools: clang++ with libFuzzer and the sanitizers, ninja, the libraries' headers ----
CXX=${CXX:-clang++}
need() { echo "fuzz: $1; install it with: sudo apt-get install -y $2" >&2; exit 1; }
command -v "$CXX" >/dev/null || need "$CXX not found" "clang libclang-rt-dev"
command -v ninja >/dev/null || need "ninja not found" "ninja-build"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
"$CXX" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err" ||
  { cat "$probe/err" >&2; need "$CXX cannot link libFuzzer with the sanitizers" "libclang-rt-dev (Debian 12: libclang-rt-14-dev)"; }
for h in nlohmann/json.hpp spdlog/spdlog.h utf8proc.h zlib.h turbojpeg.h; do
  echo "#include <$h>" | "$CXX" -std=c++17 -x c++ -fsyntax-only - 2>/dev/null ||
    need "header <$h> not found" "nlohmann-json3-dev libspdlog-dev libutf8proc-dev zlib1g-dev libturbojpeg0-dev"
done

# ---- build.ninja: each project source compiled once (coverage-instrumented), linked per target ----
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
{
  echo "cxx = $CXX"
  echo "cflags = -std=c++17 -g -O1 -fno-omit-frame-pointer $SAN -Wall -Wextra -I$ROOT/include -I$ROOT/src/data" \
    "-I$ROOT/tests/fuzz -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL '-DCMA_SOURCE_DIR=\"$ROOT\"'"
  echo "libs = -lspdlog -lfmt -lutf8proc -lturbojpeg -lz -lpthread"
  echo "rule cc"
  echo "  command = \$cxx \$cflags -fsanitize=fuzzer-no-link -MD -MF \$out.d -c \$in -o \$out"
  echo "  depfile = \$out.d"
  echo "  deps = gcc"
  echo "  description = CXX \$out"
  echo "rule fuzzer"
  echo "  command = \$cxx -fsanitize=fuzzer $SAN \$in -o \$out \$libs"
  echo "  description = LINK \$out"
  echo "rule tool"
  echo "  command = \$cxx -fsanitize=fuzzer-no-link $SAN \$in -o \$out \$libs"
  echo "  description = LINK \$out"
  declare -A seen=()
  for t in "${ALL_TARGETS[@]}" make_corpus; do
    main=tests/fuzz/fuzz_$t.cpp rule=fuzzer
    [ "$t" = make_corpus ] && main=tests/fuzz/make_corpus.cpp rule=tool
    objs=""
    for s in $main ${SOURCES[$t]}; do
      o=obj/${s//\//_}.o
      objs+=" $o"
      [ -n "${seen[$o]:-}" ] && continue
      seen[$o]=1
      echo "build $o: cc $ROOT/$s"
    done
    out=fuzz_$t
    [ "$t" = make_corpus ] && out=make_corpus
    echo "build $out: $rule$objs"
  done
} >"$BUILD/build.ninja.new"
mv "$BUILD/build.ninja.new" "$BUILD/build.ninja"

if [ "$MODE" = corpus ]; then
  OUTS=(make_corpus)
else
  OUTS=()
  for t in "${TARGETS[@]}"; do OUTS+=("fuzz_$t"); done
fi
build_start=$(date +%s)
if [ -n "${CMA_BUILD_LOCK:-}" ]; then
  lock=/tmp/cma-build.lock
  case "$CMA_BUILD_LOCK" in */*) lock=$CMA_BUILD_LOCK ;; esac
  flock "$lock" ninja -C "$BUILD" -j2 "${OUTS[@]}"
else
  ninja -C "$BUILD" -j2 "${OUTS[@]}"
fi
echo "fuzz: built in $(($(date +%s) - build_start)) s"

if [ "$MODE" = corpus ]; then
  "$BUILD/make_corpus" "$ROOT/tests/fuzz/corpus"
  exit 0
fi
[ "$SECONDS_PER_TARGET" -gt 0 ] || exit 0  # libFuzzer reads -max_total_time=0 as "no limit"

# ---- run each target on a copy of its seeds; tests/fuzz/corpus/ is never written ----
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=()
for t in "${TARGETS[@]}"; do
  work=$BUILD/run/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$ROOT/tests/fuzz/corpus/$t/." "$work/corpus/"
  seeds=$(find "$work/corpus" -type f | wc -l)
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len="${MAX_LEN[$t]}"
    -print_final_stats=1 -artifact_prefix="$work/artifacts/")
  [ -n "${DICT[$t]:-}" ] && args+=(-dict="$ROOT/tests/fuzz/${DICT[$t]}")
  echo "fuzz: $t: ${SECONDS_PER_TARGET} s from $seeds seeds (log: $work/log.txt)"
  rc=0
  (cd "$work" && nice -n "${FUZZ_NICE:-0}" "$BUILD/fuzz_$t" "${args[@]}" "$work/corpus") >"$work/log.txt" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" 2>/dev/null | tail -1)
  [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$work/log.txt" 2>/dev/null | tail -1 | tr -d '#')
  [ -f "$work/log.txt" ] || { echo "fuzz: $work was removed while $t ran (another fuzz.sh on $BUILD?)" >&2; [ "$rc" -ne 0 ] || rc=1; }
  found=$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | sort)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    failed=1
    summary+=("$(printf '%-13s %12s runs  FOUND A PROBLEM (exit %s)' "$t" "${runs:-?}" "$rc")")
    echo "fuzz: $t FAILED (exit $rc); the end of its log:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|fuzz invariant|terminate called|what\(\)' "$work/log.txt" | head -20 >&2 || true
    tail -n 25 "$work/log.txt" >&2
    for a in $found; do echo "fuzz: reproduce with: $BUILD/fuzz_$t $a" >&2; done
    [ -n "$found" ] || echo "fuzz: no artifact was written; reproduce with the log above ($work/log.txt)" >&2
  else
    summary+=("$(printf '%-13s %12s runs  nothing found' "$t" "${runs:-?}")")
  fi
done
echo "fuzz: summary (${SECONDS_PER_TARGET} s per target)"
printf '  %s\n' "${summary[@]}"
exit $failed
