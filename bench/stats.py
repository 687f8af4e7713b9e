"""Numbers in, figures out: percentiles, medians with their spread, ratios and targets."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Figure", "Spread", "Target", "percentile", "spread"]

Better = Literal["higher", "lower"]


def percentile(ordered: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile ``share`` (0..1) of already sorted values."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements, with the smallest and largest."""

    median: float
    low: float
    high: float
    samples: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {"median": _finite(self.median), "min": _finite(self.low),
                "max": _finite(self.high), "samples": list(self.samples)}


def spread(samples: Sequence[float]) -> Spread:
    """Summarize repeated measurements (NaN when there are none)."""
    values = tuple(value for value in samples if not math.isnan(value))
    if not values:
        return Spread(math.nan, math.nan, math.nan, ())
    return Spread(statistics.median(values), min(values), max(values), values)


@dataclass(frozen=True)
class Target:
    """A goal on the ratio product / bare: at least (``higher``) or at most ``limit``."""

    limit: float
    better: Better

    def is_met(self, ratio: float) -> bool:
        if math.isnan(ratio):
            return False
        return ratio >= self.limit if self.better == "higher" else ratio <= self.limit

    def describe(self) -> str:
        return f"{'>=' if self.better == 'higher' else '<='} {self.limit:g}"


@dataclass
class Figure:
    """One measured quantity for the product and the bare stack, over the repetitions."""

    id: str
    title: str
    unit: str
    better: Better
    product: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    target: Target | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        product, bare = spread(self.product).median, spread(self.bare).median
        if math.isnan(product) or math.isnan(bare) or bare == 0:
            return math.nan
        return product / bare

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "title": self.title, "unit": self.unit, "better": self.better,
            "product": spread(self.product).as_dict(), "bare": spread(self.bare).as_dict(),
            "ratio": _finite(self.ratio),
            "target": self.target.describe() if self.target else None,
            "met": self.target.is_met(self.ratio) if self.target else None,
            "notes": self.notes,
        }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value
