#!/usr/bin/env bash
# The demo, from a fresh Debian 12 machine: installs what is missing, builds, starts
# floorwalkerd on its embedded defaults (loopback ports 7401-7403, data in ./floorwalker-data)
# with the simulated chain's stores listed (names, zones, and each store's currency: London in
# GBP, New York in USD, Shanghai in CNY), drives it with that chain, and shows what the daemon
# holds as people read it: money in each store's currency, quantities in units, local times
# and store names.
# It starts the console (`floorwalker web`, docs/WEB.md) beside it and ends with its URL.
# --keep leaves both running afterwards (stop them with: kill $(cat floorwalkerd.pid
# floorwalker-web.pid)).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

fwd=build/daemon/floorwalkerd
fw=build/clients/cli/floorwalker
sim=(--stores 3 --terminals 2 --regions 3 --skus 300)
# The chain's stores and terminals as sim prints them, each store with its currency.
{
  printf '[chain]\ncurrency = USD\n\n'
  $fw sim "${sim[@]}" --print-config |
    sed -e '/^timezone = Europe\/London$/a currency = GBP' \
        -e '/^timezone = Asia\/Shanghai$/a currency = CNY'
  # The service desk below publishes for S001 too.
  printf '\n[terminal:S001-DESK]\nstore = S001\n'
} >floorwalker-demo.conf
$fwd -c floorwalker-demo.conf -f 2>floorwalkerd.log &
pid=$!
echo $pid >floorwalkerd.pid
webpid=
cleanup() {
  for p in $webpid $pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
for _ in $(seq 50); do
  if $fw stats -w 1 >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "floorwalkerd did not start:"; cat floorwalkerd.log; exit 1; fi
done
head -1 floorwalkerd.log
# The console, a client of the daemon like the CLI: http://127.0.0.1:7480/.
$fw web --listen 127.0.0.1:7480 >floorwalker-web.url 2>floorwalker-web.log &
webpid=$!
echo $webpid >floorwalker-web.pid

echo
echo "== a small chain: 3 stores x 2 terminals in London, New York and Shanghai, 6000 events at 2000/s =="
$fw sim "${sim[@]}" -n 6000 --rate 2000 --spool floorwalker-spool/demo
echo
echo "== one bad sale from the service desk (its lines do not add up): acked, kept in quarantine =="
$fw publish -s S001 -t S001-DESK --spool floorwalker-spool sale receipt_id=R-BAD cashier_id=K1 \
  kind=SALE 'lines=[{"sku":"SKU-0001","qty_milli":2000,"unit_price_cents":150}]' total_cents=500 || true
echo
echo "== floorwalker alerts -C 15 -W 1 (active alerts first, then live ones; at most 15 lines) =="
$fw alerts -C 15 -W 1
echo
echo "== floorwalker query stores (names, zones, currencies) =="
$fw query stores
echo
echo "== floorwalker query sales --store S003 (today in Shanghai, in CNY) =="
$fw query sales --store S003
echo
echo "== floorwalker query sales --store S001 --granularity hour (London, GBP) =="
$fw query sales --store S001 --granularity hour
echo
echo "== floorwalker query top-skus --store S002 -n 5 (bestsellers in New York today, USD) =="
$fw query top-skus --store S002 -n 5
echo
echo "== floorwalker query cashiers --scope chain (each store's money in its own currency) =="
$fw query cashiers --scope chain
echo
echo "== floorwalker query attendance --scope chain (who is clocked in, in local time) =="
$fw query attendance --scope chain | sed -n '/== on_shift ==/,$p' | head -12
echo
echo "== floorwalker stats =="
$fw stats | sed -n '1,40p'
echo
echo "== floorwalker query quarantine =="
$fw query quarantine
echo
url=$(head -1 floorwalker-web.url 2>/dev/null || true)
if [ -n "$url" ]; then
  echo "== the console: open $url in a browser (the stores board and the live alerts) =="
else
  echo "== the console did not start: =="; cat floorwalker-web.log
fi
if [ "${1:-}" = --keep ]; then
  trap - EXIT
  echo; echo "floorwalkerd (pid $pid) and the console (pid $webpid) keep running; stop them with:"
  echo "  kill \$(cat floorwalkerd.pid floorwalker-web.pid)"
fi
