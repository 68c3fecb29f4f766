"""Query latency: p50/p99 of a store-day sales rollup and a region-month top-10 SKUs.

Usage: /usr/bin/python3 tests/bench/query_latency.py -e ENDPOINT --store S --region R [-n N] [--json]
Reports figures only (a benchmark, not a test). The .proto is compiled with stock protoc.
--json prints one JSON object per query instead of the Markdown table (tests/bench/run.py).
"""
import argparse
import json
import sys
import time

import zmq

import fwbench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-e", "--endpoint", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--region", default="default")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--proto", default=fwbench.DEFAULT_PROTO)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    pb = fwbench.pb2(a.proto)

    s = zmq.Context.instance().socket(zmq.REQ)
    s.connect(a.endpoint)
    cases = [
        ("store-day sales", pb.Query(kind=pb.Query.SALES, store_id=a.store, from_day="today")),
        ("region-month top-10 SKUs", pb.Query(kind=pb.Query.TOP_SKUS, region=a.region,
                                              from_day="this-month", limit=10)),
    ]
    if not a.json:
        print("| query | n | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|")
    for name, q in cases:
        data = q.SerializeToString()
        lat = []
        for _ in range(a.n):
            t0 = time.perf_counter()
            s.send(data)
            r = pb.QueryResult()
            r.ParseFromString(s.recv())
            lat.append((time.perf_counter() - t0) * 1000)
            if r.status != pb.QueryResult.OK:
                sys.exit("%s: %s" % (name, r.error))
        if a.json:
            out = fwbench.summary(lat)
            out.update(query=name, rows=sum(len(t.rows) for t in r.tables))
            print(json.dumps(out))
            continue
        print("| %s | %d | %.3f | %.3f | %.3f |" % ((name, a.n) + fwbench.percentiles(lat)))


if __name__ == "__main__":
    main()
