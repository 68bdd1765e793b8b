"""200 random tamperings of ledger copies, all detected (RELIABILITY.md, ledger row).

Each trial takes a copy of a 40-event chain whose checkpoint was kept at event 30 (history grew
to 40 since), applies one random tampering at or before the checkpointed event, and checks the
copy with `chain.verify_against_checkpoint`, as the offline verifier does. Kinds: edit an
event's content, delete one, swap two, insert a forged one, truncate the tail, and rewrite one
and recompute every hash after it (a consistent chain: only the checkpoint can tell)."""

import copy
import random
from collections import Counter

from modelspec_site.audit import chain

from .chains import event_fields, make_chain, sealed

LENGTH, CHECKPOINT = 40, 30
KINDS = ("edit", "delete", "swap", "insert", "truncate", "recompute")


def _rehashed(events: list[dict], start: int) -> list[dict]:
    """Events renumbered from 1 and re-sealed from index `start` on, as a careful forger would."""
    out = [dict(e) for e in events[:start]]
    prev = out[-1]["hash"] if out else chain.GENESIS_HASH
    for offset, event in enumerate(events[start:]):
        fields = {k: v for k, v in event.items() if k != "hash"}
        fields |= {"seq": start + offset + 1, "prev_hash": prev}
        out.append(sealed(fields))
        prev = out[-1]["hash"]
    return out


def _tamper(events: list[dict], kind: str, rng: random.Random) -> list[dict]:
    events = copy.deepcopy(events)
    i = rng.randrange(CHECKPOINT)  # an index at or before the checkpointed event
    if kind == "edit":
        events[i]["data"] = {**events[i]["data"], "n": -1}
    elif kind == "delete":
        del events[i]
    elif kind == "swap":
        j = rng.choice([k for k in range(LENGTH) if k != i])
        events[i], events[j] = events[j], events[i]
    elif kind == "insert":
        prev = events[i - 1]["hash"] if i else chain.GENESIS_HASH
        forged = sealed(event_fields(i + 1, prev, data={"forged": True}))
        events.insert(i, forged)
        if rng.random() < 0.5:  # and renumber and re-seal everything after it
            events = _rehashed(events, i + 1)
    elif kind == "truncate":
        events = events[:i]
    elif kind == "recompute":
        events[i]["data"] = {**events[i]["data"], "n": -1}
        events = _rehashed(events, i)
    return events


def test_two_hundred_random_tamperings_are_all_detected():
    original = make_chain(LENGTH)
    kept = original[CHECKPOINT - 1]["hash"]  # the checkpoint someone kept
    assert chain.verify_against_checkpoint(original, head_hash=kept, count=CHECKPOINT).ok
    rng = random.Random(20261123)
    tried, caught_by = Counter(), Counter()
    for _ in range(200):
        kind = rng.choice(KINDS)
        tampered = _tamper(original, kind, rng)
        tried[kind] += 1
        chain_only = chain.verify_chain(tampered)
        result = chain.verify_against_checkpoint(tampered, head_hash=kept, count=CHECKPOINT)
        assert not result.ok, f"{kind} went undetected"
        caught_by["chain" if not chain_only.ok else "checkpoint"] += 1
    assert sum(tried.values()) == 200 and set(tried) == set(KINDS)
    # Both defences are needed: some tamperings leave a consistent chain.
    assert caught_by["chain"] and caught_by["checkpoint"]
    assert tried["recompute"] <= caught_by["checkpoint"]
