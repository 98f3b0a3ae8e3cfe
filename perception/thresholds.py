"""The numbers every signal rule uses (documented in perception/README.md).

A pydantic model so the wiring layer can fill it from settings or YAML: ``SignalThresholds(**mapping)``
or :meth:`SignalThresholds.from_mapping`; unknown keys and out-of-range values are refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from perception.schemas import OPEN_STAGES


class ThresholdsError(ValueError):
    """Signal thresholds given in configuration are not valid; the message names each bad key."""


class SignalThresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- usage (time series against the account's own baseline) ---------------------------------
    usage_drop_ratio: float = Field(0.6, gt=0, lt=1, description=(
        "usage_drop: the account's daily active users (all products) fall below this x the median of "
        "the preceding baseline_days."))
    usage_high_drop_ratio: float = Field(0.35, gt=0, lt=1, description="usage_drop is high at or below this.")
    expansion_seat_ratio: float = Field(0.95, gt=0, description=(
        "expansion_intent: seats used (busiest product) reach this share of seats licensed ..."))
    expansion_baseline_ratio: float = Field(0.9, gt=0, description="... from a baseline below this share.")
    expansion_high_seat_ratio: float = Field(1.0, gt=0, description="expansion_intent is high at/over this.")
    baseline_days: int = Field(7, ge=1, description="Usage baseline: median of this many previous days.")
    min_history_days: int = Field(5, ge=1, description="Usage baseline needs at least this many days.")
    max_age_days: int = Field(7, ge=0, description=(
        "A usage condition that began more than this many days before the snapshot is not raised."))
    # -- changes between snapshots -----------------------------------------------------------------
    slip_min_days: int = Field(7, ge=1, description="deal_slipped: close date moves later by this many days.")
    slip_medium_days: int = Field(14, ge=1, description="deal_slipped is medium from this many days.")
    slip_high_days: int = Field(30, ge=1, description="deal_slipped is high from this many days.")
    high_value_amount: float = Field(100_000.0, ge=0, description=(
        "Deals at or above this amount are high severity when they slip, regress, shrink or stall."))
    regression_high_steps: int = Field(2, ge=1, description="stage_regression is high from this many steps.")
    seat_contraction_min_ratio: float = Field(0.10, gt=0, lt=1, description=(
        "seat_contraction: seats licensed fall by at least this share (true-ups stay below it)."))
    seat_contraction_high_ratio: float = Field(0.30, gt=0, lt=1, description="High from this share lost.")
    amount_reduced_min_ratio: float = Field(0.20, gt=0, lt=1, description=(
        "amount_reduced: an open deal's amount falls by at least this share."))
    amount_reduced_high_ratio: float = Field(0.50, gt=0, lt=1, description="High from this share lost.")
    high_value_arr: float = Field(250_000.0, ge=0, description=(
        "Accounts at or above this ARR are high severity when seats shrink or renewal approaches."))
    low_value_arr: float = Field(25_000.0, ge=0, description="renewal_approaching is low below this ARR.")
    # -- conditions (one signal per episode) --------------------------------------------------------
    no_activity_days: int = Field(14, ge=1, description=(
        "no_activity: an open deal has no inbound or outbound activity (internal notes do not count) "
        "for this many days, counted from its last one (from stage_changed_on if it has none)."))
    ghosted_days: int = Field(10, ge=1, description=(
        "ghosted: an open deal's last inbound activity is this many days old ..."))
    ghosted_min_outbound: int = Field(2, ge=1, description="... with at least this many outbound since.")
    min_active_contacts: int = Field(2, ge=1, description=(
        "too_few_contacts: an open deal's account has fewer active contacts than this."))
    economic_buyer_stages: tuple[str, ...] = Field(("proposal", "negotiation"), description=(
        "no_economic_buyer: an open deal in one of these stages and no active economic buyer."))
    stall_days: dict[str, int] = Field(
        default_factory=lambda: {"qualification": 21, "discovery": 30, "proposal": 30, "negotiation": 30},
        description="stalled_in_stage: days since stage_changed_on beyond which a deal in that stage stalls.")
    renewal_window_days: int = Field(60, ge=1, description=(
        "renewal_approaching: the account's renewal date is this many days away or closer."))
    condition_cool_down_days: int = Field(7, ge=0, description=(
        "A condition that clears and returns within this many days of being raised is not raised again."))
    # -- heat (perception/heat.py) ---------------------------------------------------------------
    heat_full_stake: float = Field(250_000.0, gt=0, description=(
        "ARR or deal amount at which the stake factor of heat reaches 1."))
    heat_half_life_days: float = Field(14.0, gt=0, description=(
        "Heat halves for every this many days between the episode's start and the observation."))

    @model_validator(mode="after")
    def _consistent(self) -> SignalThresholds:
        missing = [s for s in OPEN_STAGES if s not in self.stall_days]
        if missing:
            raise ValueError(f"stall_days needs a number of days for every open stage; missing {missing}")
        unknown = [s for s in self.economic_buyer_stages if s not in OPEN_STAGES]
        if unknown:
            raise ValueError(f"economic_buyer_stages must be open stages {list(OPEN_STAGES)}; got {unknown}")
        if not self.slip_min_days <= self.slip_medium_days <= self.slip_high_days:
            raise ValueError("need slip_min_days <= slip_medium_days <= slip_high_days")
        return self

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SignalThresholds:
        """Defaults overridden by ``values`` (e.g. a YAML section); raises ThresholdsError naming bad keys."""
        try:
            return cls.model_validate(dict(values or {}))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(thresholds)'}: {e['msg']}"
                                 for e in exc.errors())
            raise ThresholdsError(f"invalid signal thresholds: {problems}. Defaults and meanings: "
                                  "perception/README.md, 'Signal taxonomy'") from None
