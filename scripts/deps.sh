#!/usr/bin/env bash
# Installs what Floorwalker needs to build, test and run on Debian 12, if it is missing.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  liblmdb-dev lmdb-utils libev-dev libinih-dev libjansson-dev libsystemd-dev libcmocka-dev
  python3 python3-zmq python3-protobuf python3-lmdb
  clang-format groff-base man-db libmicrohttpd-dev tzdata systemd
  clang libclang-rt-14-dev valgrind
  postgresql libpq-dev gnuplot-nox
  prometheus libsodium-dev openssl curl
  libcurl4-openssl-dev prometheus-alertmanager
  chromium chromium-driver python3-selenium
  librdkafka-dev kcat libxxhash-dev
)

# Node.js and npm install the console's pinned front-end libraries (third_party/package.json).
# A machine may have them from elsewhere (NodeSource's nodejs carries its own npm and conflicts
# with Debian's npm package): only a missing npm command brings Debian's.
if ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -y -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The console's charting library (uPlot, pinned with its integrity hash in
# third_party/package-lock.json) into the git-ignored third_party/node_modules, which
# clients/web/CMakeLists.txt builds into the binary. Again only when the pinned version is not
# there; as the user running this script, owned like the clone (no root-owned files left in a
# user's clone by a run as root), with no questions asked.
tp="$(cd "$(dirname "$0")/.." && pwd)/third_party"
want=$(sed -n 's/^ *"uplot": *"\([^"]*\)".*/\1/p' "$tp/package.json")
have=""
if [ -f "$tp/node_modules/uplot/package.json" ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$tp/node_modules/uplot/package.json")
fi
if [ "$have" != "$want" ]; then
  echo "deps: npm ci in third_party (uplot $want)" >&2
  CI=true npm ci --prefix "$tp" --no-audit --no-fund --ignore-scripts --loglevel=error </dev/null
  if [ "$(id -u)" -eq 0 ] && [ "$(stat -c %u "$tp")" -ne 0 ]; then
    chown -R --reference="$tp" "$tp/node_modules"
  fi
fi
