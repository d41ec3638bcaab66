"""One active taxonomy: CXLOOP_TAXONOMY reaches the registry and owners; a broken file names its line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cxloop.config import get_settings
from cxloop.metrics.registry import registry
from cxloop.taxonomy import active_taxonomy, aspect_info, aspects
from cxloop.text.taxonomy import TaxonomyError

RESTAURANT = Path(__file__).resolve().parents[2] / "src/cxloop/text/taxonomies/restaurant.yaml"


def _use(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("CXLOOP_TAXONOMY", str(path))
    get_settings.cache_clear()


def test_restaurant_taxonomy_gives_every_aspect_an_indicator_and_its_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = {a["id"]: a for a in yaml.safe_load(RESTAURANT.read_text(encoding="utf-8"))["aspects"]}
    assert len(shipped) == 6
    _use(monkeypatch, RESTAURANT)
    assert active_taxonomy().name == "restaurant"
    assert set(aspects()) == set(shipped)
    codes = registry()
    for aspect_id, spec in shipped.items():
        indicator = codes[f"aspect_neg:{aspect_id}"]
        assert indicator.owner == spec["department"], aspect_id
        assert aspect_info(aspect_id).stage == spec["stage"]
    assert "aspect_neg:delivery_speed" not in codes  # no e-commerce aspect leaks in


def test_default_taxonomy_when_unset() -> None:
    assert active_taxonomy().name != "restaurant"
    assert "aspect_neg:delivery_speed" in registry()


def test_broken_taxonomy_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\naspects:\n  - id: taste\n    name: 口味\n  - id: taste\n    name: 又是口味\n",
        encoding="utf-8",
    )
    _use(monkeypatch, path)
    with pytest.raises(TaxonomyError, match=r"broken.yaml: line 5: duplicate aspect id 'taste'"):
        active_taxonomy()
    from cxloop.app import create_app

    with pytest.raises(TaxonomyError, match="line 5"):
        create_app(migrate_on_start=False)


def test_unparsable_taxonomy_stops_the_cli_with_the_line(tmp_path: Path) -> None:
    from cxloop.cli import app

    path = tmp_path / "bad.yaml"
    path.write_text("name: x\naspects:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "list"], env={"CXLOOP_TAXONOMY": str(path)})
    assert result.exit_code == 2
    assert "line 5" in result.output
