"""Deterministic, vectorized pseudo-randomness: a splitmix64 mix of (seed, label, id).

Every "random" choice the emulator makes about an ID (its fate, dates, duplicates) is a pure
function of the seed and the ID, so two runs, two jobs or two servers always agree.
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def salt(seed: int, *labels: str) -> np.uint64:
    """A 64-bit constant per (seed, purpose): keeps the hash streams of different purposes independent."""
    digest = hashlib.sha256(":".join([str(seed), *labels]).encode()).digest()
    return np.uint64(int.from_bytes(digest[:8], "little"))


def mix64(values: np.ndarray, key: np.uint64) -> np.ndarray:
    """splitmix64 finalizer of ``values ^ key``; uint64 arithmetic wraps, as the algorithm intends."""
    x = (values.astype(np.uint64, copy=False) ^ key) + _GOLDEN
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def unit(values: np.ndarray, key: np.uint64) -> np.ndarray:
    """Uniform floats in [0, 1) from the top 53 bits of the mix."""
    return (mix64(values, key) >> _S11).astype(np.float64) * (1.0 / (1 << 53))
