"""Compute one DP release with OpenDP's Context API over a lazy Polars plan.

The privacy unit is the user (`user_token`): each user's rows are truncated to the spec's
contribution bounds inside the OpenDP plan, so the sensitivity OpenDP proves matches what the
spec declares. One Context per release; the raw frame is only reachable through it.
"""

import math
import operator
from dataclasses import dataclass
from functools import reduce
from typing import Any

# Not `opendp.prelude`: it imports every extra, scikit-learn included (~4 s per process on a
# quiet machine, ~10 s under load), and each Airflow DP task is a new process.
import opendp.measurements as dp_m
import polars as pl
from opendp.accuracy import (
    discrete_gaussian_scale_to_accuracy,
    gaussian_scale_to_accuracy,
    summarize_polars_measurement,
)
from opendp.context import Context, loss_of, unit_of
from opendp.extras.polars import Margin, dp_len  # also registers Polars' `.dp` namespace
from opendp.mod import binary_search, enable_features

from privacy._dp_spec import Catalog, Loss, Period, ReleaseSpec

enable_features("contrib")

IDENTIFIER = "user_token"
ALPHA = 0.05  # 95% intervals
# Public upper bound on the rows in any one group (OpenDP needs it for sums). Loose by design
# (the largest value OpenDP accepts, u32): it only rules out overflow in the integer sums.
MAX_GROUP_ROWS = 2**32 - 1
# Rank a user's groups in a pseudo-random order before keeping `max_groups` of them: OpenDP's
# keep='first' keeps the alphabetically first groups (biased) and keep='sample' fails on
# Polars 1.36. The hash depends on the user and the group, so it is a random order per user.
GROUP_ORDER = "_weir_group_order"
GROUP_ORDER_SEED = 20261125
DISCRETE_ACCURACY_MAX_SCALE = 1e4


@dataclass(frozen=True)
class Plan:
    """A release ready to run: the measurement and what it will cost and how accurate it is."""

    context: Any  # dp.Context
    measurement: Any  # dp.Measurement
    scales: dict[str, float]  # measure -> noise scale (standard deviation of the Gaussian)
    accuracy: dict[str, float]  # measure -> half-width of the 95% interval
    accuracy_bonferroni: dict[str, float]  # half-width at 97.5%, to combine two measures in a mean
    threshold: int | None  # smallest released group count under DP partition selection
    spent: Loss  # the loss OpenDP proves for this measurement (at most the spec's)
    distribution: str


def plan(spec: ReleaseSpec, catalog: Catalog, period: Period, data: pl.LazyFrame) -> Plan:
    """Build the OpenDP measurement for `spec` over `data` (lazy: nothing is read yet)."""
    keys = [k.column for k in spec.keys]
    data = with_group_order(data, keys)
    context = Context.compositor(
        data=data,
        privacy_unit=unit_of(contributions=1, identifier=IDENTIFIER),
        privacy_loss=_loss(spec.loss),
        split_evenly_over=1,
        # Public: the key columns and a loose bound on group sizes (see MAX_GROUP_ROWS).
        margins=[Margin(by=keys, max_length=MAX_GROUP_ROWS)],
    )
    del data  # from here on the data is reachable only through the context
    query = context.query()
    for column, values in () if spec.combine_per_user else spec.where:  # combined: filtered on export
        # OpenDP 0.16 supports neither `is_in` nor `any_horizontal`: chain equalities with `|`.
        query = query.filter(reduce(operator.or_, [pl.col(column) == value for value in values]))
    query = (
        query.truncate_per_group(spec.bounds.max_rows_per_group, by=keys, keep="first")
        # Polars' dense rank starts at 1, so `rank < k + 1` keeps k groups. OpenDP 0.16 reads
        # `rank < n` as "n groups" (it assumes a rank from 0), so it accounts k + 1 groups: sound,
        # with sqrt((k + 1) / k) more noise than needed. `<=` is read as k + 1 as well.
        .filter(pl.struct(GROUP_ORDER, *keys).rank("dense").over(IDENTIFIER) < spec.bounds.max_groups + 1)
        .group_by(keys)
        .agg(*[_aggregate(m) for m in spec.noisy()])
    )
    if not spec.has_private_keys:
        query = query.with_keys(pl.LazyFrame(_key_frame(spec, catalog, period)))
    measurement = _resolve(query, context, spec.loss)
    summary = summarize_polars_measurement(measurement)  # noise scales (accuracy: see _accuracy)
    scales = dict(zip(summary["column"], summary["scale"], strict=True))
    threshold = summary["threshold"].drop_nulls().min() if "threshold" in summary.columns else None
    return Plan(
        context=context,
        measurement=measurement,
        scales=scales,
        accuracy={m: _accuracy(s, ALPHA) for m, s in scales.items()},
        accuracy_bonferroni={m: _accuracy(s, ALPHA / 2) for m, s in scales.items()},
        threshold=int(threshold) if threshold is not None else None,
        spent=_spent(measurement.map(context.d_in)),
        distribution=str(summary["distribution"][0]),
    )


def _accuracy(scale: float, alpha: float) -> float:
    """Half-width of the (1 - alpha) interval of integer-Gaussian noise, from OpenDP's utilities.

    OpenDP's exact discrete computation takes seconds at scales in the millions (sums of
    cents); there the discrete tail is within 1 of the continuous one, so round that up, + 1.
    """
    if scale <= DISCRETE_ACCURACY_MAX_SCALE:
        return float(discrete_gaussian_scale_to_accuracy(scale, alpha, T=float))
    return float(math.ceil(gaussian_scale_to_accuracy(scale, alpha, T=float)) + 1)


def _resolve(query: Any, context: Any, loss: Loss) -> Any:
    """The measurement with the smallest noise scale (and partition threshold) that fits the loss.

    OpenDP's `query.resolve()` binary-searches the scale, building the plan ~60 times (~4 s per
    release, whatever the data size). Under zCDP the Gaussian loss falls as 1/scale^2, so one
    build at scale 1 gives the scale; a few checked nudges absorb rounding. With a delta (DP
    partition selection), the threshold is then searched as OpenDP does, at that scale.
    """
    accountant = context.accountant
    plan_ = object.__getattribute__(query, "polars_plan")  # the Polars plan the query wraps
    no_threshold = 2**32 - 1 if loss.delta else None

    def build(scale: float, threshold: int | None = no_threshold) -> Any:
        return dp_m.make_private_lazyframe(
            accountant.input_domain,
            accountant.input_metric,
            accountant.output_measure,
            plan_,
            global_scale=scale,
            threshold=threshold,
        )

    def rho_of(measurement: Any) -> float:
        mapped = measurement.map(context.d_in)
        return mapped[0] if loss.delta else mapped

    at_one = rho_of(build(1.0))
    if at_one <= 0:
        return query.resolve()
    exact = math.sqrt(at_one / loss.rho)
    for step in range(30):
        scale = exact * (1 + 1e-10 * 2**step)  # at most ~10% above the exact scale
        measurement = build(scale)
        if rho_of(measurement) <= loss.rho:
            break
    else:
        return query.resolve()
    if not loss.delta:
        return measurement
    threshold = binary_search(lambda t: build(scale, t).map(context.d_in)[1] <= loss.delta, T=int)
    return build(scale, threshold)


def with_group_order(data: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Add the per-user pseudo-random group order (see GROUP_ORDER); the plan expects it."""
    return data.with_columns(pl.struct(IDENTIFIER, *keys).hash(GROUP_ORDER_SEED).alias(GROUP_ORDER))


def run(spec: ReleaseSpec, planned: Plan) -> pl.DataFrame:
    """Spend the context's budget: release the noisy table, then add intervals and flags."""
    noisy = planned.context(planned.measurement).collect()
    return with_intervals(spec, planned, noisy)


def with_intervals(spec: ReleaseSpec, planned: Plan, noisy: pl.DataFrame) -> pl.DataFrame:
    """Per measure: value, 95% interval, noise scale, and a low-accuracy flag (post-processing)."""
    keys = [k.column for k in spec.keys]
    columns: list[pl.Expr] = [pl.col(k) for k in keys]
    for m in spec.measures:
        if m.kind == "mean":
            value, low, high = _mean_interval(noisy, m.sum or "", m.count or "", planned.accuracy_bonferroni)
            scale = pl.lit(None, pl.Float64)
        else:
            half = planned.accuracy[m.name]
            # Post-processing (free under DP): a count or a sum of values >= 0 is never negative.
            floor = 0.0 if m.lower >= 0 else None
            raw = pl.col(m.name).cast(pl.Float64)
            value, low, high = raw.clip(floor), (raw - half).clip(floor), (raw + half).clip(floor)
            scale = pl.lit(planned.scales[m.name])
        low_accuracy = ((high - low) / 2 >= value.abs()).fill_null(True)
        shown = pl.when(low_accuracy & spec.suppress).then(None).otherwise(value)
        columns += [
            shown.alias(m.name),
            low.alias(f"{m.name}_ci_low"),
            high.alias(f"{m.name}_ci_high"),
            scale.alias(f"{m.name}_noise_scale"),
            low_accuracy.alias(f"{m.name}_low_accuracy"),
        ]
    return noisy.select(columns).sort(keys)


def _mean_interval(noisy: pl.DataFrame, total: str, count: str, half: dict[str, float]):
    """Ratio of the noisy sum and count, with a >=95% interval from the two 97.5% intervals."""
    s, c = pl.col(total).cast(pl.Float64).clip(lower_bound=0.0), pl.col(count).cast(pl.Float64)
    hs, hc = half[total], half[count]
    defined = c - hc > 0
    value = pl.when(c > 0).then(s / c)
    low = pl.when(defined).then(pl.max_horizontal(s - hs, pl.lit(0.0)) / (c + hc))
    high = pl.when(defined).then((s + hs) / (c - hc))
    return value, low, high


def _aggregate(measure) -> pl.Expr:
    if measure.kind == "count":
        return dp_len(signed=False).alias(measure.name)
    # Clamping bounds are public: they come from the spec, not from the data.
    return pl.col(measure.column).fill_null(0).dp.sum((measure.lower, measure.upper)).alias(measure.name)


def _key_frame(spec: ReleaseSpec, catalog: Catalog, period: Period) -> pl.DataFrame:
    """The cross product of the public key sets: every group is released, even an empty one."""
    frame: pl.DataFrame | None = None
    for key in spec.keys:
        column = pl.DataFrame({key.column: catalog.key_values(key, period)})
        frame = column if frame is None else frame.join(column, how="cross")
    assert frame is not None  # a spec has at least one key (checked in _dp_spec)
    return frame


def _loss(loss: Loss):
    return loss_of(rho=loss.rho, delta=loss.delta) if loss.delta else loss_of(rho=loss.rho)


def _spent(mapped: Any) -> Loss:
    if isinstance(mapped, tuple):
        return Loss(float(mapped[0]), float(mapped[1]))
    return Loss(float(mapped))
