"""Business-hour SLA clocks across a weekend, the 2026 Spring Festival and its make-up workdays (调休)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from cxloop.config import get_settings
from cxloop.loop.calendar import BusinessCalendar, get_calendar
from cxloop.loop.cases import service as cases

CAL = BusinessCalendar()  # 09:00-18:00, Monday to Friday, Chinese public holidays


def test_spring_festival_2026_is_one_block_with_make_up_saturdays() -> None:
    # State Council notice: 2026-02-15 .. 2026-02-23 off; Saturdays 02-14 and 02-28 are working days.
    for day in range(15, 24):
        assert not CAL.is_workday(date(2026, 2, day)), f"2026-02-{day} should be off"
    assert CAL.is_workday(date(2026, 2, 14))
    assert CAL.is_workday(date(2026, 2, 28))
    assert CAL.is_workday(date(2026, 2, 24))
    assert not CAL.is_workday(date(2026, 2, 7))  # an ordinary Saturday


def test_clock_skips_an_ordinary_weekend() -> None:
    # Friday 17:00 + 2 working hours -> Monday 10:00
    assert CAL.add_minutes(datetime(2026, 1, 9, 17, 0), 120) == datetime(2026, 1, 12, 10, 0)
    assert CAL.minutes_between(datetime(2026, 1, 9, 17, 0), datetime(2026, 1, 12, 10, 0)) == 120


def test_clock_runs_on_the_make_up_saturday_and_skips_the_festival() -> None:
    # Friday 2026-02-13 17:30: 30 min that day, Saturday 02-14 is a working day (540 min), the rest after
    # the festival on Tuesday 02-24.
    assert CAL.add_minutes(datetime(2026, 2, 13, 17, 30), 120) == datetime(2026, 2, 14, 10, 30)
    assert CAL.add_minutes(datetime(2026, 2, 13, 17, 30), 1080) == datetime(2026, 2, 24, 17, 30)
    # Saturday 02-14 17:00 + 2 h: one hour that day, the festival (15..23) counts nothing.
    assert CAL.add_minutes(datetime(2026, 2, 14, 17, 0), 120) == datetime(2026, 2, 24, 10, 0)
    assert CAL.minutes_between(datetime(2026, 2, 14, 17, 0), datetime(2026, 2, 24, 10, 0)) == 120


def test_clock_runs_on_the_second_make_up_saturday() -> None:
    assert CAL.add_minutes(datetime(2026, 2, 27, 17, 0), 120) == datetime(2026, 2, 28, 10, 0)
    # Before opening hours the clock waits for 09:00.
    assert CAL.add_minutes(datetime(2026, 2, 28, 6, 0), 30) == datetime(2026, 2, 28, 9, 30)


def test_extra_days_off_from_configuration(tmp_path: Path) -> None:
    cal = BusinessCalendar.from_config(
        {
            "hours": [["09:00", "12:00"], ["13:00", "18:00"]],
            "extra_days_off": ["2026-03-02"],
            "extra_workdays": ["2026-03-07"],
        }
    )
    assert not cal.is_workday(date(2026, 3, 2))
    assert cal.is_workday(date(2026, 3, 7))
    # Lunch break is not working time: 11:30 + 60 min -> 13:30.
    assert cal.add_minutes(datetime(2026, 3, 3, 11, 30), 60) == datetime(2026, 3, 3, 13, 30)


def test_calendar_settings_override_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = get_settings().data_dir
    data.mkdir(parents=True, exist_ok=True)
    (data / "loop.yaml").write_text(
        "calendars:\n  default:\n    extra_days_off: ['2026-03-02']\n", encoding="utf-8"
    )
    cal = get_calendar("default")
    assert not cal.is_workday(date(2026, 3, 2))
    assert cal.is_workday(date(2026, 2, 14))  # the rest of the default calendar is kept


def test_case_sla_clocks_warn_then_breach_across_the_festival(db_session: Session) -> None:
    opened = datetime(2026, 2, 13, 17, 30)  # Friday before the make-up Saturday and the festival
    case = cases.create_case(
        db_session=db_session, title="漏发", actor="t", priority="medium", opened_at=opened
    )
    db_session.commit()
    # medium: first response 120 working minutes, resolution 1080 (defaults.yaml)
    assert case.first_response_due_at == datetime(2026, 2, 14, 10, 30)
    assert case.resolution_due_at == datetime(2026, 2, 24, 17, 30)
    assert cases.sla_clocks(case, datetime(2026, 2, 13, 17, 50))["first_response"]["state"] == "ok"
    # 80 % of 120 min = 96 min: 30 on Friday + 66 on Saturday -> 10:06
    assert cases.sla_clocks(case, datetime(2026, 2, 14, 10, 5))["first_response"]["state"] == "ok"
    assert cases.sla_clocks(case, datetime(2026, 2, 14, 10, 7))["first_response"]["state"] == "warning"
    assert cases.sla_clocks(case, datetime(2026, 2, 14, 10, 31))["first_response"]["state"] == "breached"
    # During the festival the resolution clock stands still.
    mid = cases.sla_clocks(case, datetime(2026, 2, 18, 12, 0))["resolution"]
    assert mid["used_minutes"] == 30 + 540 and mid["state"] == "ok"
    # warning and breach are each sent once
    counts = cases.check_slas(db_session=db_session, at=datetime(2026, 2, 14, 10, 10))
    assert counts["warnings"] == 1
    assert cases.check_slas(db_session=db_session, at=datetime(2026, 2, 14, 10, 12))["warnings"] == 0
    assert cases.check_slas(db_session=db_session, at=datetime(2026, 2, 14, 11, 0))["breaches"] == 1
    assert cases.check_slas(db_session=db_session, at=datetime(2026, 2, 14, 11, 5))["breaches"] == 0
