#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds with
# warnings as errors, runs every test under ASan+UBSan, fuzzes ingest for a minute (clang,
# libFuzzer), runs the integration tests that drive the threaded clients and the daemon
# concurrently under ThreadSanitizer, then runs every test on the normal build, with a subset
# of the integration tests again with the daemon under valgrind (scripts/valgrind.sh runs them
# all).
# The last line is ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

scripts/check-format.sh

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFW_SANITIZE=ON -DFW_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFW_WERROR=ON -DFW_VALGRIND=ON >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFW_FUZZ=ON \
  -DFW_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_ingest
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DFW_TSAN=ON -DFW_WERROR=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target floorwalkerd floorwalker-cli

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== tests under ASan+UBSan (build-asan) =="
(cd build-asan && ctest --output-on-failure -j2 --timeout 900)

# libFuzzer over a copy of the seed corpus (it adds what it finds to the corpus it is given, and
# the source tree stays as it is); a crash, leak, sanitizer report or slow input fails the run
# and is kept in build-fuzz/findings/. tests/fuzz/README.md says what to do with one.
echo "== fuzzing ingest for ${FW_FUZZ_SECONDS:=60} s (build-fuzz) =="
fuzz_tmp=$(mktemp -d)
trap 'rm -rf "$fuzz_tmp"' EXIT
cp -r tests/fuzz/corpus "$fuzz_tmp/corpus"
mkdir -p "$fuzz_tmp/findings"
if ! build-fuzz/tests/fuzz_ingest -max_total_time="$FW_FUZZ_SECONDS" -timeout=30 \
  -print_final_stats=1 -artifact_prefix="$fuzz_tmp/findings/" "$fuzz_tmp/corpus" \
  tests/fuzz/regressions >"$fuzz_tmp/fuzz.log" 2>&1; then
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "$fuzz_tmp/fuzz.log" | tail -n 60
  rm -rf build-fuzz/findings && cp -r "$fuzz_tmp/findings" build-fuzz/findings
  echo "fuzz_ingest found a bug: the input is in build-fuzz/findings/ (tests/fuzz/README.md)"
  exit 1
fi
grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' "$fuzz_tmp/fuzz.log"

# ThreadSanitizer: ingest, queries, alert streams, reloads and the threaded clients (the
# terminal library's sender, the sim's stores, the console's connection and feed threads, the
# notify bridge, the console over several daemons) at once. tests/tsan.supp holds the libraries not built with TSan (libzmq's
# own threads); TIME_SCALE gives the slower binaries' handshakes their time.
echo "== tests under ThreadSanitizer (build-tsan) =="
(cd build-tsan && FW_TIME_SCALE=3 \
  TSAN_OPTIONS="halt_on_error=1 abort_on_error=1 second_deadlock_stack=1 suppressions=$PWD/../tests/tsan.supp" \
  ctest --output-on-failure -j2 --timeout 900 \
  -R '^integration\.(interop|rejects|cli|crash|storage|retention|metrics|revoke|web|notify|shards)$')

echo "== tests (build), some with the daemon under valgrind =="
cd build && ctest --output-on-failure -j2 --timeout 900 -LE valgrind-slow
