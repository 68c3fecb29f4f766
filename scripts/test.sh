#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds with
# warnings as errors, runs every test under ASan+UBSan, then every test on the normal build.
# The last line is ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

scripts/check-format.sh

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFW_SANITIZE=ON -DFW_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFW_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== tests under ASan+UBSan (build-asan) =="
(cd build-asan && ctest --output-on-failure -j2 --timeout 900)
echo "== tests (build) =="
cd build && ctest --output-on-failure -j2 --timeout 900
