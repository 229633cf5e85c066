"""The trusted side of the proxy codec: replies are data only, anything else is refused."""

from __future__ import annotations

import base64
import io
import pickle

import numpy as np
import pytest
import torch

from autograder.proxy.codec import Decoder, Encoder, Handle
from autograder.proxy.errors import BadReply


def npy(array, allow_pickle=False) -> str:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=allow_pickle)
    return base64.b64encode(out.getvalue()).decode()


def decode(value, buffers=(), limit=1 << 20):
    return Decoder(list(buffers), limit)(value)


def test_plain_data_and_arrays_decode():
    buffers = [npy(np.arange(6.0).reshape(2, 3)), npy(np.array([1, 2], dtype=np.int64)), npy(np.array(7, np.int32)),
               npy(np.zeros((2, 2), np.uint8))]
    value = {"$dict": [["a", [1, 2.5, "x", None, True]], ["t", {"$tuple": [{"$nd": 0}, {"$tensor": 1}]}],
                       [3, {"$npscalar": 2}], ["img", {"$image": 3, "mode": "L"}],
                       ["nan", {"$float": "nan"}], ["big", {"$bigint": str(10**30)}],
                       ["raw", {"$bytes": base64.b64encode(b"\x80\x04K\x01.").decode()}]]}
    out = decode(value, buffers)
    assert out["a"] == [1, 2.5, "x", None, True]
    assert np.array_equal(out["t"][0], np.arange(6.0).reshape(2, 3))
    assert isinstance(out["t"][1], torch.Tensor) and out["t"][1].dtype == torch.int64
    assert out[3] == 7 and isinstance(out[3], np.int32)
    assert out["img"].dtype == np.uint8 and np.isnan(out["nan"]) and out["big"] == 10**30
    assert out["raw"] == b"\x80\x04K\x01."  # pickle bytes stay bytes: never loaded


def test_handles_are_wrapped_by_the_caller():
    made = []
    out = Decoder([], 100, lambda h: made.append(h) or ("wrapped", h.id))({"$handle": 4, "type": "x.Y"})
    assert out == ("wrapped", 4) and made[0].type_name == "x.Y"


@pytest.mark.parametrize("value, buffers", [
    ({"$nd": 0}, [npy(np.array([object()], dtype=object), allow_pickle=True)]),  # pickled object array
    ({"$nd": 0}, [base64.b64encode(pickle.dumps([1, 2])).decode()]),             # a raw pickle
    ({"$nd": 0}, ["not base64!!"]),
    ({"$nd": 1}, [npy(np.zeros(2))]),                                             # missing buffer
    ({"$nd": 0}, [npy(np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]))]),  # structured dtype
    ({"$nd": 0}, [npy(np.array(["text"]))]),                                      # strings are not numbers
    ({"key": "plain dicts are not allowed"}, []),
    ({"$handle": 1}, []),                                                          # no type
    ({"$handle": 1, "type": "x", "extra": 1}, []),
    ({"$float": "1e308"}, []),
    ({"$npscalar": 0}, [npy(np.zeros(3))]),
    ({"$unknown": 1}, []),
    ({"$dict": [[[1], 2]]}, []),                                                   # unhashable key
    ({"$tuple": "no"}, []),
])
def test_bad_replies_are_refused(value, buffers):
    with pytest.raises(BadReply):
        decode(value, buffers)


def test_size_and_depth_caps():
    with pytest.raises(BadReply, match="larger"):
        decode({"$nd": 0}, [npy(np.zeros(10_000))], limit=1000)
    nested = 1
    for _ in range(100):
        nested = [nested]
    with pytest.raises(BadReply, match="deep"):
        decode(nested)


def test_encoder_sends_arrays_tensors_and_handles():
    encoder = Encoder()

    class Remote:
        _autograder_handle = Handle(9, "m.T")

    node = encoder([np.ones(2), torch.zeros(3, requires_grad=True), (1, "a"), {"k": float("inf")}, Remote()])
    assert node[0] == {"$nd": 0} and node[1] == {"$tensor": 1, "requires_grad": True}
    assert node[2] == {"$tuple": [1, "a"]} and node[3] == {"$dict": [["k", {"$float": "inf"}]]}
    assert node[4] == {"$handle": 9}
    with pytest.raises(TypeError):
        encoder(object())
