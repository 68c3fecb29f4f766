"""Alert latency: time from sending an event that fires an alert (a MAJOR complaint) to the
FIRING message on the PUB socket, optionally while `floorwalker sim` loads the daemon.

Usage: /usr/bin/python3 tests/bench/alert_latency.py --ingest EP --alerts EP [-n 200] [--json]
Reports figures only (a benchmark, not a test); --json prints one JSON object instead of the
Markdown row (tests/bench/run.py uses it).
"""
import argparse
import json
import sys
import time

import zmq

import fwbench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--alerts", required=True)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--store", default="LAT1")
    ap.add_argument("--proto", default=fwbench.DEFAULT_PROTO)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    pb = fwbench.pb2(a.proto)

    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.connect(a.alerts)
    sub.setsockopt(zmq.SUBSCRIBE, b"alert/")
    sub.setsockopt(zmq.RCVTIMEO, 5000)
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(a.ingest)
    dealer.setsockopt(zmq.RCVTIMEO, 5000)
    time.sleep(0.3)
    epoch = int(time.time() * 1000)
    lat = []
    t_start = time.time()
    for i in range(1, a.n + 1):
        e = pb.Event(store_id=a.store, terminal_id=a.store + "-T", epoch=epoch, seq=i,
                     event_time_ms=int(time.time() * 1000))
        e.complaint.complaint_id = "L%d" % i
        e.complaint.action = pb.Complaint.OPENED
        e.complaint.severity = pb.Complaint.MAJOR
        e.complaint.channel = pb.Complaint.COUNTER
        t0 = time.perf_counter()
        dealer.send(pb.EventBatch(events=[e]).SerializeToString())
        while True:
            topic, data = sub.recv_multipart()
            al = pb.Alert()
            al.ParseFromString(data)
            if al.rule == "complaint_major" and al.subject == "L%d" % i:
                lat.append((time.perf_counter() - t0) * 1000)
                break
        dealer.recv()  # the ack
    if a.json:
        r = fwbench.summary(lat)
        r.update(start=t_start, end=time.time())
        print(json.dumps(r))
        return
    print("| alert latency (event sent to FIRING received) | n | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    print("| complaint_major | %d | %.3f | %.3f | %.3f |" % ((len(lat),) + fwbench.percentiles(lat)))


if __name__ == "__main__":
    main()
