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
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -y -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
