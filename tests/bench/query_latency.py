"""Query latency: p50/p99 of a store-day sales rollup and a region-month top-10 SKUs.

Usage: /usr/bin/python3 tests/bench/query_latency.py -e ENDPOINT --store S --region R [-n N]
Reports figures only (a benchmark, not a test). The .proto is compiled with stock protoc.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-e", "--endpoint", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--region", default="default")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--proto", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "proto", "floorwalker.proto"))
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="fwpb-")
    subprocess.run(["protoc", "-I" + os.path.dirname(os.path.abspath(a.proto)),
                    "--python_out=" + out, os.path.abspath(a.proto)], check=True)
    sys.path.insert(0, out)
    import floorwalker_pb2 as pb

    s = zmq.Context.instance().socket(zmq.REQ)
    s.connect(a.endpoint)
    cases = [
        ("store-day sales", pb.Query(kind=pb.Query.SALES, store_id=a.store, from_day="today")),
        ("region-month top-10 SKUs", pb.Query(kind=pb.Query.TOP_SKUS, region=a.region,
                                              from_day="this-month", limit=10)),
    ]
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
        lat.sort()
        print("| %s | %d | %.3f | %.3f | %.3f |" % (name, a.n, lat[len(lat) // 2],
                                                   lat[min(len(lat) - 1, int(len(lat) * 0.99))],
                                                   lat[-1]))


if __name__ == "__main__":
    main()
