"""Shared pieces of the benchmark scripts."""
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


def percentiles(lat):
    """p50, p99 and max of a list of milliseconds."""
    lat = sorted(lat)
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]
