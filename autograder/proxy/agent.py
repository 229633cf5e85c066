"""The agent: trusted code that the grader injects into the student's kernel after the last cell.

This file is sent as source into the sandbox (it does not import the autograder package, which
is not there). It answers one JSON request per call with data only: JSON for plain values and
``.npy`` buffers (written with ``allow_pickle=False``) for arrays, tensors and images; any other
object stays in the kernel and is named by an opaque handle. The student can tamper with
anything in here, so the trusted side validates every reply as if it came from the student.
"""

AGENT_SOURCE = r'''
def __autograder_make_agent__(namespace):
    import base64, io, json, os, sys
    MIME = "application/vnd.autograder.reply+json"
    handles = {}
    counter = [0]
    publish = get_ipython().display_pub.publish

    def new_handle(obj):
        counter[0] += 1
        handles[counter[0]] = obj
        return counter[0]

    class Encoder:
        def __init__(self, limit):
            self.buffers, self.size, self.limit = [], 0, limit

        def array(self, arr):
            import numpy as np
            arr = np.array(arr, copy=None, order="C")
            if arr.dtype.kind not in "biufc" or arr.dtype.fields is not None:
                raise TypeError("array of dtype %s cannot be sent" % arr.dtype)
            out = io.BytesIO()
            np.save(out, arr, allow_pickle=False)
            raw = out.getvalue()
            self.size += len(raw)
            if self.size > self.limit:
                raise OverflowError("reply larger than %d bytes" % self.limit)
            self.buffers.append(base64.b64encode(raw).decode("ascii"))
            return len(self.buffers) - 1

        def __call__(self, obj, depth=0):
            if depth > 40:
                raise OverflowError("reply nested too deeply")
            kind = type(obj)
            if obj is None or kind is bool or kind is str:
                return obj
            if kind is int:
                return obj if -2**63 <= obj < 2**63 else {"$bigint": str(obj)}
            if kind is float:
                return obj if obj == obj and obj not in (float("inf"), float("-inf")) else {"$float": repr(obj)}
            if kind is list:
                return [self(item, depth + 1) for item in obj]
            if kind is tuple:
                return {"$tuple": [self(item, depth + 1) for item in obj]}
            if kind is dict:
                return {"$dict": [[self(k, depth + 1), self(v, depth + 1)] for k, v in obj.items()]}
            if kind is bytes:
                self.size += len(obj)
                if self.size > self.limit:
                    raise OverflowError("reply larger than %d bytes" % self.limit)
                return {"$bytes": base64.b64encode(obj).decode("ascii")}
            np = sys.modules.get("numpy")
            if np is not None:
                if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc":
                    return {"$nd": self.array(obj)}
                if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
                    return {"$npscalar": self.array(np.asarray(obj))}
            torch = sys.modules.get("torch")
            if torch is not None and isinstance(obj, torch.Tensor):
                data = obj.detach().cpu()
                if data.dtype in (torch.bfloat16,):
                    data = data.float()
                meta = {"$tensor": self.array(data.resolve_conj().numpy())}
                meta["requires_grad"] = bool(obj.requires_grad)
                return meta
            image = sys.modules.get("PIL.Image")
            if image is not None and isinstance(obj, image.Image):
                return {"$image": self.array(np.asarray(obj)), "mode": str(obj.mode)[:16]}
            return {"$handle": new_handle(obj), "type": type_name(obj)}

    def type_name(obj):
        cls = obj if isinstance(obj, type) else type(obj)
        return ("%s.%s" % (getattr(cls, "__module__", "?"), getattr(cls, "__qualname__", "?")))[:200]

    def decode(node):
        if isinstance(node, list):
            return [decode(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$nd" in node or "$tensor" in node or "$npscalar" in node:
            import numpy as np
            raw = base64.b64decode(node.get("$nd", node.get("$tensor", node.get("$npscalar"))))
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
            if "$npscalar" in node:
                return arr[()]
            if "$tensor" in node:
                import torch
                tensor = torch.from_numpy(arr.copy())
                return tensor.requires_grad_(True) if node.get("requires_grad") else tensor
            return arr
        if "$tuple" in node:
            return tuple(decode(item) for item in node["$tuple"])
        if "$dict" in node:
            return {decode(k): decode(v) for k, v in node["$dict"]}
        if "$float" in node:
            return float(node["$float"])
        if "$bytes" in node:
            return base64.b64decode(node["$bytes"])
        if "$handle" in node:
            return handles[node["$handle"]]
        if "$global" in node:
            return lookup(node["$global"])
        raise ValueError("unknown request node")

    def lookup(name):
        if name in namespace:
            return namespace[name]
        import builtins
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise NameError("name %r is not defined in the notebook" % name)

    def autograd(function, z, args, kwargs):
        import torch
        z = z.detach().clone().requires_grad_(True)
        out = function(z, *args, **kwargs)
        if not isinstance(out, torch.Tensor):
            raise TypeError("the function did not return a tensor")
        (grad,) = torch.autograd.grad(out.sum(), z)
        return (out.detach(), grad)

    def safe_text(exc):
        try:
            return str(exc)[:500]
        except Exception:
            return "<unprintable>"

    def describe(obj):
        cls = obj if isinstance(obj, type) else type(obj)
        try:
            mro = [type_name(c) for c in cls.__mro__][:30]
        except Exception:
            mro = []
        return {"type": type_name(obj), "mro": mro, "is_class": isinstance(obj, type),
                "callable": callable(obj)}

    def write_files(folder, files):
        root = os.path.realpath(os.path.join(os.getcwd(), folder))
        for rel, blob in files.items():
            path = os.path.realpath(os.path.join(root, rel))
            if not path.startswith(root + os.sep):
                raise ValueError("path outside the folder")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(base64.b64decode(blob))
        return root

    def read_file(path, limit):
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise OverflowError("file larger than %d bytes" % limit)
        return data

    def module_name(obj):
        import types
        return str(obj.__name__)[:200] if isinstance(obj, types.ModuleType) else None

    def run(request):
        op = request["op"]
        if op == "get":
            return lookup(request["name"])
        if op == "global":
            if request["name"] in namespace:
                return namespace[request["name"]]
            raise NameError("name %r is not defined in the notebook" % request["name"])
        target = decode(request.get("target"))
        if op == "getattr":
            return getattr(target, request["name"])
        args = decode(request.get("args", []))
        kwargs = {k: decode(v) for k, v in request.get("kwargs", {}).items()}
        if op == "call":
            return target(*args, **kwargs)
        if op == "callmethod":
            return getattr(target, request["name"])(*args, **kwargs)
        if op == "autograd":
            return autograd(target, args[0], args[1:], kwargs)
        if op == "len":
            return len(target)
        if op == "getitem":
            return target[args[0]]
        if op == "iter":
            return {"$iter": new_handle(iter(target))}
        if op == "next":
            return next(target)
        if op == "describe":
            return {"$describe": describe(target)}
        if op == "module_name":
            return module_name(target)
        if op == "delglobal":
            if request["name"] not in namespace:
                raise NameError("name %r is not defined" % request["name"])
            del namespace[request["name"]]
            return None
        if op == "setglobal":
            namespace[request["name"]] = args[0]
            return None
        if op == "release":
            for key in request.get("handles", []):
                handles.pop(key, None)
            return None
        if op == "put_files":
            return write_files(request["folder"], request["files"])
        if op == "read_file":
            return read_file(request["path"], request["limit"])
        raise ValueError("unknown op %r" % op)

    def agent(text):
        request = json.loads(text)
        reply = {"id": request["id"], "ok": True}
        encode = Encoder(request["limit"])
        try:
            result = run(request)
            if isinstance(result, dict) and "$iter" in result:
                reply["value"] = {"$handle": result["$iter"], "type": "iterator"}
            elif isinstance(result, dict) and "$describe" in result:
                reply["value"] = {"$dict": [[k, encode(v)] for k, v in result["$describe"].items()]}
            else:
                reply["value"] = encode(result)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            reply = {"id": request["id"], "ok": False,
                     "error": {"type": type(exc).__name__[:100], "message": safe_text(exc)}}
            encode.buffers = []
        reply["buffers"] = encode.buffers
        publish(data={MIME: reply}, metadata={})

    return agent

__autograder_agent__ = __autograder_make_agent__(globals())
del __autograder_make_agent__
'''
