"""Python client stubs for vdbm.v1, generated from Protos/ with grpcio-tools when the suite
starts (never committed), and small helpers to build requests."""
import importlib
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "Protos"


def _generate():
    out = tempfile.mkdtemp(prefix="vdbm-stubs-")
    files = [str(path.relative_to(PROTOS)) for path in sorted((PROTOS / "vdbm" / "v1").glob("*.proto"))]
    include = str(Path(protoc.__file__).parent / "_proto")
    code = protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if code != 0:
        raise RuntimeError(f"grpc_tools.protoc failed with {code}")
    sys.path.insert(0, out)
    return (importlib.import_module("vdbm.v1.data_pb2"), importlib.import_module("vdbm.v1.vectordb_pb2"),
            importlib.import_module("vdbm.v1.vectordb_pb2_grpc"))


data_pb2, pb2, pb2_grpc = _generate()


def vectors_column(name, rows, dimension):
    return data_pb2.Column(name=name, vectors=data_pb2.FloatVectors(
        dimension=dimension, values=[value for row in rows for value in row]))


def int64_column(name, values):
    return data_pb2.Column(name=name, int64s=data_pb2.Int64Values(values=values))


def string_column(name, values):
    return data_pb2.Column(name=name, strings=data_pb2.StringValues(values=values))


def column_values(column):
    """The Python list a response column holds."""
    kind = column.WhichOneof("values")
    if kind == "vectors":
        flat, dim = list(column.vectors.values), column.vectors.dimension
        return [flat[i:i + dim] for i in range(0, len(flat), dim)]
    if kind == "sparse_vectors":
        return list(column.sparse_vectors.rows)
    return list(getattr(column, kind).values)


def columns_by_name(response):
    return {column.name: column_values(column) for column in response.columns}
