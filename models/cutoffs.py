"""Tier cut-offs: the rule every set of cut-offs obeys, wherever it is stored or applied."""

from __future__ import annotations

TIERS = ("A", "B", "C")


def validate_cutoffs(cutoffs: dict[str, float]) -> dict[str, float]:
    """Cut-offs A > B > C within 0-100, or a clear error."""
    missing = [t for t in TIERS if t not in cutoffs]
    if missing:
        raise ValueError(f"tier cut-offs need A, B and C; missing {missing}")
    vals = [float(cutoffs[t]) for t in TIERS]
    if any(not 0 <= v <= 100 for v in vals):
        raise ValueError(f"tier cut-offs must lie within 0-100, got {dict(zip(TIERS, vals, strict=True))}")
    if not vals[0] > vals[1] > vals[2]:
        raise ValueError(f"tier cut-offs must decrease A > B > C, got {dict(zip(TIERS, vals, strict=True))}")
    return dict(zip(TIERS, vals, strict=True))
