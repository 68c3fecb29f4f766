#!/usr/bin/env bash
# Fails if clang-format (with the checked-in .clang-format) would change any C source.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "clang-format: $f needs formatting (run: clang-format -i $f)" >&2
    bad=1
  fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find daemon clients tests -name '*.[ch]')
exit $bad
