"""Early warning: trained on a shop's own history, it ranks an open order on a slow route as riskier."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxloop.delivery import service, warning
from cxloop.orders import outcomes
from tests.delivery import factory


def test_train_and_predict(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model trains with a time split, is stored in the data folder and scores open orders."""
    ids = factory.warning_shop(db_session)
    with pytest.raises(LookupError):
        service.predict_late_risk(db_session, now=datetime(2026, 3, 1))
    result = service.train_warning(db_session=db_session, holdout_days=10)
    assert result.path.endswith("delivery-warning.joblib") and warning.model_path().exists()
    assert result.evaluation["auc"] > 0.7, result.evaluation
    now = outcomes.as_of(db_session)
    assert now is not None
    risks = {r.order_id: r for r in service.predict_late_risk(db_session, now=now)}
    slow, fast = risks[ids["open_slow"]], risks[ids["open_fast"]]
    assert slow.probability > fast.probability and 0.0 <= fast.probability <= 1.0
    assert slow.late_stage == "carrier" and slow.department_id == ids["logistics"]
    assert slow.promised_at > now and slow.expected_arrival > now
    top = service.predict_late_risk(db_session, now=now, limit=1)
    assert len(top) == 1 and top[0].probability == max(r.probability for r in risks.values())
    only = service.predict_late_risk(db_session, now=now, order_ids=[ids["open_fast"]])
    assert [r.order_id for r in only] == [ids["open_fast"]]
    # Once the promise has passed the order has missed it: certain, not a guess.
    later = now + timedelta(days=5)
    assert all(r.probability == 1.0 for r in service.predict_late_risk(db_session, now=later))
    monkeypatch.setenv("CXLOOP_DELIVERY_WARNING_THRESHOLD", "0.35")
    from cxloop.config import get_settings

    get_settings.cache_clear()
    assert service.warning_threshold() == 0.35


def test_snapshots_stop_at_delivery_or_promise() -> None:
    """Training moments are only those when the order was still open and its promise still ahead."""
    t0 = datetime(2026, 1, 1)
    tl = warning.Timeline(
        1,
        {"placed": t0, "paid": t0 + timedelta(hours=1), "shipped": t0 + timedelta(hours=10),
         "delivered": t0 + timedelta(hours=30)},
        t0 + timedelta(hours=20), None, None, None, None, True,
    )  # fmt: skip
    moments = warning.snapshot_times(tl)
    assert moments and all(m < t0 + timedelta(hours=20) for m in moments)
    assert t0 + timedelta(hours=15) in moments  # halfway from handover to the promise


def test_column_features_equal_row_features() -> None:
    """The vectorised features used for scoring are the ones the model was trained on."""
    import numpy as np

    t0 = datetime(2026, 3, 2, 14, 30)
    rows = [
        (1, t0 + timedelta(days=3), 7, 9, "上海", 1.5, t0, t0 + timedelta(hours=1), None, None, t0 + timedelta(hours=20)),
        (2, t0 + timedelta(days=2), None, 9, None, None, t0, t0 + timedelta(hours=2), t0 + timedelta(hours=5),
         t0 + timedelta(hours=6), t0 + timedelta(hours=90)),  # shipped after "now": not yet known
        (3, t0 + timedelta(days=1), 7, None, "北京", 3.0, t0 + timedelta(hours=3), None, None, None, None),
    ]  # fmt: skip
    now = t0 + timedelta(hours=30)
    codes = {"warehouse": {7: 1}, "carrier": {9: 1}, "region": {"上海": 1, "北京": 2}}
    columns = warning.feature_matrix(warning.open_orders_from_rows(rows), now, codes)
    for i, r in enumerate(rows):
        times = dict(zip(warning.OPEN_EVENTS, r[6:], strict=True))
        tl = warning.Timeline(r[0], times, r[1], r[2], r[3], r[4], r[5])
        expected = np.asarray(warning.feature_row(tl, now, codes))
        assert np.allclose(columns[i], expected, equal_nan=True), (i, columns[i], expected)
