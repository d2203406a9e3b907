"""Tamper-evident seals for ratchet's JSON state and the results log's hash chain. Pure.

`seal` / `verify_seal` bind a JSON object to the run id; `chain` links
results.jsonl records, `broken_links` finds the ones that do not verify.
This catches an edited score file; it is not a defence against someone who
reads this code and recomputes the hashes.
"""

from __future__ import annotations

import json

try:  # the interpreter's own SHA-256 (hashlib's fallback): importing hashlib loads OpenSSL first,
    from _sha2 import sha256  # milliseconds on every call of every command (3.12+: _sha2)
except ImportError:
    try:
        from _sha256 import sha256  # 3.10, 3.11
    except ImportError:  # a build without the built-in hashes
        from hashlib import sha256


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(obj: dict, key: str) -> str:
    """Digest of `obj` (its own 'seal' field excluded) bound to `key` (run id)."""
    body = {k: v for k, v in obj.items() if k != "seal"}
    return sha256(key.encode() + b"\0" + _canonical(body)).hexdigest()


def sealed(obj: dict, key: str) -> dict:
    return {**{k: v for k, v in obj.items() if k != "seal"}, "seal": seal(obj, key)}


def verify_seal(obj: dict, key: str) -> bool:
    return obj.get("seal") == seal(obj, key)


def chain(prev: str, record: dict) -> str:
    """Link value for `record` after a record whose link was `prev`."""
    body = {k: v for k, v in record.items() if k != "chain"}
    return sha256(prev.encode() + b"\0" + _canonical(body)).hexdigest()


def broken_links(records: list[dict], key: str) -> list[int]:
    """Iterations whose chain link does not verify (edited or reordered)."""
    prev, bad = key, []
    for rec in records:
        if rec.get("chain") != chain(prev, rec):
            bad.append(rec.get("iter", -1))
        prev = rec.get("chain", "")
    return bad
