"""The strict codec between the trusted side and the sandbox: data only, never pickle.

Replies are JSON trees whose dicts are all tagged (``$tuple``, ``$dict``, ``$nd``, ``$tensor``,
``$image``, ``$npscalar``, ``$float``, ``$bigint``, ``$bytes``, ``$handle``) plus a list of
base64 ``.npy`` buffers, loaded with ``allow_pickle=False`` and only of boolean or numeric
dtype. Anything else is a :class:`~autograder.proxy.errors.BadReply`.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import sys

import numpy as np

from autograder.proxy.errors import BadReply

MAX_DEPTH = 40
MAX_NODES = 1_000_000
MAX_STRING = 1_000_000


class Handle:
    """An opaque reference to an object that stays inside the sandbox."""

    __slots__ = ("id", "type_name")

    def __init__(self, id_: int, type_name: str):
        self.id, self.type_name = id_, type_name


class Decoder:
    """Validate and decode one reply value; ``make_handle`` wraps handles for the caller."""

    def __init__(self, buffers, limit: int, make_handle=lambda handle: handle):
        if not isinstance(buffers, list) or not all(isinstance(b, str) for b in buffers):
            raise BadReply("reply buffers are not a list of strings")
        if sum(len(b) for b in buffers) * 3 // 4 > limit:
            raise BadReply(f"reply larger than {limit} bytes")
        self.buffers, self.limit, self.make_handle = buffers, limit, make_handle
        self.nodes = 0

    def array(self, index) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise BadReply("reply refers to a missing buffer")
        try:
            raw = base64.b64decode(self.buffers[index], validate=True)
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, binascii.Error, OSError, EOFError) as exc:
            raise BadReply(f"reply holds an invalid array ({exc})") from None
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufc" or arr.dtype.fields:
            raise BadReply(f"reply holds an array of unsupported dtype {getattr(arr, 'dtype', '?')}")
        return arr

    def __call__(self, node, depth: int = 0):
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise BadReply("reply nested too deeply or too large")
        if node is None or type(node) in (bool, int):
            return node
        if type(node) is float:
            return node
        if type(node) is str:
            if len(node) > MAX_STRING:
                raise BadReply("reply string too long")
            return node
        if type(node) is list:
            return [self(item, depth + 1) for item in node]
        if type(node) is not dict or len(node) == 0:
            raise BadReply(f"reply holds a {type(node).__name__}, not data")
        tag = next(iter(node))
        value = node[tag]
        if tag == "$tuple" and len(node) == 1 and type(value) is list:
            return tuple(self(item, depth + 1) for item in value)
        if tag == "$dict" and len(node) == 1 and type(value) is list:
            out = {}
            for pair in value:
                if type(pair) is not list or len(pair) != 2:
                    raise BadReply("malformed dict in reply")
                key = self(pair[0], depth + 1)
                try:
                    out[key] = self(pair[1], depth + 1)
                except TypeError:
                    raise BadReply("unhashable dict key in reply") from None
            return out
        if tag == "$nd" and len(node) == 1:
            return self.array(value)
        if tag == "$npscalar" and len(node) == 1:
            arr = self.array(value)
            if arr.ndim != 0:
                raise BadReply("numpy scalar with a shape")
            return arr[()]
        if tag == "$tensor" and set(node) <= {"$tensor", "requires_grad"}:
            import torch  # noqa: PLC0415 - deferred: torch takes seconds to import; only tensors need it

            return torch.from_numpy(self.array(value).copy())
        if tag == "$image" and set(node) <= {"$image", "mode"}:
            return self.array(value)
        if tag == "$float" and len(node) == 1 and value in ("nan", "inf", "-inf"):
            return float(value)
        if tag == "$bigint" and len(node) == 1 and type(value) is str and len(value) < 4000:
            try:
                return int(value)
            except ValueError:
                raise BadReply("malformed integer in reply") from None
        if tag == "$bytes" and len(node) == 1 and type(value) is str:
            try:
                return base64.b64decode(value, validate=True)
            except (ValueError, binascii.Error):
                raise BadReply("malformed bytes in reply") from None
        if tag == "$handle" and set(node) == {"$handle", "type"} and type(value) is int:
            name = node["type"] if type(node["type"]) is str else "?"
            return self.make_handle(Handle(value, name[:200]))
        raise BadReply("reply holds an object that is not data")


class Encoder:
    """Encode the trusted side's arguments (numbers, strings, containers, arrays, tensors, handles)."""

    def __init__(self):
        self.buffers: list[str] = []

    def array(self, arr: np.ndarray) -> int:
        out = io.BytesIO()
        np.save(out, np.array(arr, copy=None, order="C"), allow_pickle=False)
        self.buffers.append(base64.b64encode(out.getvalue()).decode("ascii"))
        return len(self.buffers) - 1

    def __call__(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"$float": repr(float(obj))}
        if isinstance(obj, list):
            return [self(item) for item in obj]
        if isinstance(obj, tuple):
            return {"$tuple": [self(item) for item in obj]}
        if isinstance(obj, dict):
            return {"$dict": [[self(k), self(v)] for k, v in obj.items()]}
        if isinstance(obj, bytes):
            return {"$bytes": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, np.ndarray):
            return {"$nd": self.array(obj)}
        if isinstance(obj, np.generic):
            return {"$npscalar": self.array(np.asarray(obj))}
        handle = getattr(obj, "_autograder_handle", None)
        if isinstance(handle, Handle):
            return {"$handle": handle.id}
        torch = sys.modules.get("torch")  # not imported here: no tensor exists before something imported torch
        if torch is not None and isinstance(obj, torch.Tensor):
            return {"$tensor": self.array(obj.detach().cpu().numpy()), "requires_grad": obj.requires_grad}
        raise TypeError(f"cannot send a {type(obj).__name__} into the sandbox")
