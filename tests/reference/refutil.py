"""refutil.py: input helpers shared by the NumPy reference scripts (reading saddle's run directory).

Imported after the scripts have checked that NumPy is there (a missing NumPy must exit 2, never 1)."""

import os

import numpy as np


class InputError(Exception):
    """Bad input or usage: the scripts exit 2 on it."""


def load_npy(path, ndim):
    if not os.path.isfile(path):
        raise InputError(f"missing {path}")
    a = np.load(path, allow_pickle=False)
    if a.dtype != np.float64 or a.ndim != ndim:
        raise InputError(f"{path}: expected a float64 array with {ndim} dimensions, got {a.dtype} with shape {a.shape}")
    return a


def config_value(path, dotted, default=None):
    """The scalar at `section.key` in a block-style YAML file, by line parsing (a top-level line `section:`
    followed by indented `key: value` lines), as saddle writes config.resolved.yaml. `default` if absent
    (InputError when there is none)."""
    section, key = dotted.split(".", 1)
    inside = False
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                body = line.split("#", 1)[0].rstrip()
                if not body.strip():
                    continue
                if not line[0].isspace():
                    inside = body == section + ":"
                    continue
                if inside:
                    k, sep, v = body.strip().partition(":")
                    if sep and k == key and v.strip():
                        return v.strip().strip('"')
    if default is not None:
        return default
    raise InputError(f"{path}: no {dotted}")


def rel_diff(a, b):
    """|a - b| / max(|a|, |b|); 0 for equal values, inf when one is not finite."""
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("inf")
    return abs(a - b) / max(abs(a), abs(b))


def report(results, rtol, width):
    """Prints each result, name -> (max relative difference, step where it was), against rtol, then the verdict
    line (OK: / FAIL:); True iff every difference is within rtol (NaN is not)."""
    ok = True
    for name, (d, k) in results.items():
        bad = not d <= rtol
        ok &= not bad
        print(f"  {name:{width}s} max rel diff {d:.3e}  (at step {k}){'  > rtol ' + format(rtol, 'g') if bad else ''}")
    if ok:
        print(f"OK: saddle's trajectory matches the reference within rtol {rtol:g}")
    else:
        print(f"FAIL: saddle's trajectory differs from the reference beyond rtol {rtol:g}")
    return ok
