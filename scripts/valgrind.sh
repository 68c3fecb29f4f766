#!/usr/bin/env bash
# Every integration test with the daemon under valgrind memcheck: any memory error or definite
# leak in any daemon process fails the test that started it (tests/integration/fwtest.py reads
# each daemon's valgrind log when it stops; a failing test prints the log).
#
#   scripts/valgrind.sh                        # all of them (ctest -L valgrind)
#   scripts/valgrind.sh -L valgrind-quick      # the subset scripts/test.sh runs
#   scripts/valgrind.sh -R 'valgrind\.rejects' # one; any further arguments go to ctest
#
# Uses the normal build (build/, RelWithDebInfo, no sanitizers: valgrind and ASan do not mix),
# configured with -DFW_VALGRIND=ON, which adds the valgrind.* tests. The hostile test sends
# FW_HOSTILE_N=5000 messages instead of 100,000 there; time limits in the tests scale by
# FW_TIME_SCALE (20 under valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FW_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFW_WERROR=ON -DFW_SANITIZE=OFF \
  -DFW_VALGRIND=ON >/dev/null
cmake --build "$build" -j"$jobs"
cd "$build"
if [ $# -eq 0 ]; then
  set -- -L valgrind
fi
exec ctest --output-on-failure -j2 --timeout 1800 "$@"
