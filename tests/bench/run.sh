#!/bin/sh
# The Floorwalker benchmark in one command (issue 5). See tests/bench/run.py --help.
#   tests/bench/run.sh [--size tiny|small|full] [--out DIR] [--build DIR] [--check]
# Prints a Markdown table of the figures against the goals and writes OUT/bench.md, bench.json
# and bench.png. Without --build (and without FW_DAEMON/FW_CLI/FWB_BIN set, as ctest sets
# them) it builds the tree (RelWithDebInfo) in ${TMPDIR:-/tmp}/floorwalker-bench-build first.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
