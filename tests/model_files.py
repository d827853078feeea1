"""Reading, changing and resealing saved model files in tests (see test_io, test_adversarial_io)."""

import json

import numpy as np

from mdnlite import io as mdn_io


def read_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def write_npz(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def reseal(arrays):
    """Recompute the digest, so that a deliberate change passes the checksum."""
    body = {k: v for k, v in arrays.items() if k not in ("meta", "digest")}
    arrays["digest"] = np.array(mdn_io._digest(str(arrays["meta"]), body))
    return arrays


def with_meta(arrays, change):
    """``arrays`` with ``change(meta)`` applied to the decoded metadata."""
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays
