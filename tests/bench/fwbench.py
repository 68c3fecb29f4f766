"""Shared pieces of the benchmark scripts."""
import math
import os
import subprocess
import sys
import tempfile

DEFAULT_PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto",
                             "floorwalker.proto")


def pb2(proto=DEFAULT_PROTO):
    """floorwalker_pb2 compiled from the .proto by stock protoc."""
    out = tempfile.mkdtemp(prefix="fwpb-")
    proto = os.path.abspath(proto)
    subprocess.run(["protoc", "-I" + os.path.dirname(proto), "--python_out=" + out, proto],
                   check=True)
    sys.path.insert(0, out)
    import floorwalker_pb2
    return floorwalker_pb2


def percentile(sorted_values, p):
    """Nearest-rank percentile (0 < p <= 100) of an ascending list."""
    n = len(sorted_values)
    k = min(n, max(1, math.ceil(n * p / 100.0 - 1e-9)))
    return sorted_values[k - 1]


def percentiles(lat):
    """p50, p99 and max of a list of milliseconds."""
    lat = sorted(lat)
    return percentile(lat, 50), percentile(lat, 99), lat[-1]


def summary(lat):
    """A dict of n, p50, p90, p99, p999, max and mean of a list of milliseconds."""
    lat = sorted(lat)
    return {"n": len(lat), "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99), "p999_ms": percentile(lat, 99.9), "max_ms": lat[-1],
            "mean_ms": sum(lat) / len(lat)}
