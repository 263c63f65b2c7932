"""Treated against holdout: conversion rates (or counts per person), their difference and its 95 % confidence
interval (pure)."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal
MIN_GROUP = 30           # customers per group below which no interval is given
MIN_OUTCOMES = 5         # converted and not converted per group (the usual n·p ≥ 5 rule of thumb)


def excludes_zero(interval: tuple[float, float] | None) -> bool:
    """Whether a difference is significant: its interval lies wholly above or below zero."""
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


@dataclass(frozen=True)
class Uplift:
    treated_n: int
    treated_converted: int
    holdout_n: int
    holdout_converted: int

    @property
    def treated_rate(self) -> float | None:
        return self.treated_converted / self.treated_n if self.treated_n else None

    @property
    def holdout_rate(self) -> float | None:
        return self.holdout_converted / self.holdout_n if self.holdout_n else None

    @property
    def difference(self) -> float | None:
        if self.treated_rate is None or self.holdout_rate is None:
            return None
        return self.treated_rate - self.holdout_rate

    @property
    def enough(self) -> bool:
        """Whether the normal approximation is fair: each group large enough, with enough of both outcomes."""
        return all(n >= MIN_GROUP and min(x, n - x) >= MIN_OUTCOMES
                   for n, x in ((self.treated_n, self.treated_converted), (self.holdout_n, self.holdout_converted)))

    @property
    def interval(self) -> tuple[float, float] | None:
        """95 % CI of the difference (Wald: normal approximation, unpooled variance), or None when too small."""
        if not self.enough:
            return None
        p1, p0 = self.treated_rate, self.holdout_rate
        se = math.sqrt(p1 * (1 - p1) / self.treated_n + p0 * (1 - p0) / self.holdout_n)
        return self.difference - Z95 * se, self.difference + Z95 * se

    @property
    def significant(self) -> bool:
        return excludes_zero(self.interval)


@dataclass(frozen=True)
class MeanUplift:
    """Treated against control for a count per person (e.g. new customers per inviter): means, their difference
    and its 95 % confidence interval (Welch: normal approximation, unpooled variance), as `Uplift` does for rates."""

    treated: tuple[int, ...]
    control: tuple[int, ...]

    @staticmethod
    def _mean(values: tuple[int, ...]) -> float | None:
        return sum(values) / len(values) if values else None

    @property
    def treated_mean(self) -> float | None:
        return self._mean(self.treated)

    @property
    def control_mean(self) -> float | None:
        return self._mean(self.control)

    @property
    def difference(self) -> float | None:
        if self.treated_mean is None or self.control_mean is None:
            return None
        return self.treated_mean - self.control_mean

    @property
    def interval(self) -> tuple[float, float] | None:
        """95 % CI of the difference, or None below MIN_GROUP per group or when neither group varies."""
        if min(len(self.treated), len(self.control)) < MIN_GROUP:
            return None
        variance = sum(sum((v - m) ** 2 for v in values) / (len(values) - 1) / len(values)
                       for values, m in ((self.treated, self.treated_mean), (self.control, self.control_mean)))
        if variance == 0:
            return None
        se = math.sqrt(variance)
        return self.difference - Z95 * se, self.difference + Z95 * se

    @property
    def significant(self) -> bool:
        return excludes_zero(self.interval)
