#!/usr/bin/env bash
# The demo, from a fresh Debian 12 machine: installs what is missing, builds, starts
# floorwalkerd on its embedded defaults (loopback ports 7401-7403, data in ./floorwalker-data),
# drives it with a small simulated chain, and shows what the daemon holds.
# --keep leaves the daemon running afterwards (stop it with: kill $(cat floorwalkerd.pid)).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

fwd=build/daemon/floorwalkerd
fw=build/clients/cli/floorwalker
$fwd -f 2>floorwalkerd.log &
pid=$!
echo $pid >floorwalkerd.pid
cleanup() { if [ "${1:-}" != keep ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
for _ in $(seq 50); do
  if $fw stats -w 1 >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "floorwalkerd did not start:"; cat floorwalkerd.log; exit 1; fi
done
head -1 floorwalkerd.log

echo
echo "== a small chain: 3 stores x 2 terminals, 6000 events at 2000/s =="
$fw sim --stores 3 --terminals 2 --skus 300 -n 6000 --rate 2000 --spool floorwalker-spool/demo
echo
echo "== one bad sale from the service desk (its lines do not add up): acked, kept in quarantine =="
$fw publish -s S001 -t S001-DESK --spool floorwalker-spool sale receipt_id=R-BAD cashier_id=K1 \
  kind=SALE 'lines=[{"sku":"SKU-0001","qty_milli":2000,"unit_price_cents":150}]' total_cents=500 || true
echo
echo "== floorwalker alerts -C 15 -W 1 (active alerts first, then live ones; at most 15 lines) =="
$fw alerts -C 15 -W 1
echo
echo "== floorwalker query sales --scope chain (today, per store-local day) =="
$fw query sales --scope chain
echo
echo "== floorwalker query sales --store S001 --granularity hour =="
$fw query sales --store S001 --granularity hour
echo
echo "== floorwalker query top-skus -n 5 (bestsellers across the chain today) =="
$fw query top-skus -n 5
echo
echo "== floorwalker query cashiers --store S001 =="
$fw query cashiers --store S001
echo
echo "== floorwalker stats =="
$fw stats | sed -n '1,40p'
echo
echo "== floorwalker query quarantine =="
$fw query quarantine
if [ "${1:-}" = --keep ]; then
  trap - EXIT
  echo; echo "floorwalkerd keeps running (pid $pid); stop it with: kill \$(cat floorwalkerd.pid)"
fi
