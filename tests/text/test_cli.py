"""The `cxloop text` sub-app, driven through CliRunner on small generated files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from cxloop.text import Analyzer
from cxloop.text.cli import app

runner = CliRunner()
ROWS = [("味道不错，但是送餐太慢了", 0), ("非常好，很满意", 1), ("太差了，质量很烂", 0), ("", 1)]


def _write_csv(path: Path, encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "comment", "label"])
        for i, (t, y) in enumerate(ROWS):
            w.writerow([i, t, y])


def test_analyze_csv_gbk_to_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    _write_csv(src, "gbk")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["analyze", str(src), "--text-column", "comment", "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(ROWS)
    assert rows[0]["comment"] == ROWS[0][0]
    aspects = {a["aspect"]: a for a in rows[0]["aspects"]}
    assert aspects["delivery_speed"]["sentiment"] == "negative"
    assert set(aspects["taste"]) == {"aspect", "sentiment", "start", "end"}
    assert rows[3]["sentiment"] == "neutral"


def test_analyze_jsonl_to_csv_with_taxonomy(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t, _ in ROWS), encoding="utf-8")
    tax = tmp_path / "t.yaml"
    tax.write_text(
        "name: mini\naspects:\n  - id: delivery\n    name: {zh: 配送}\n    stage: wait\n"
        "    department: logistics\n    keywords: {zh: [送餐]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app, ["analyze", str(src), "--text-column", "text", "--taxonomy", str(tax), "--output", str(out)]
    )
    assert res.exit_code == 0, res.output
    with open(out, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [a["aspect"] for a in json.loads(rows[0]["aspects"])] == ["delivery"]
    assert float(rows[1]["score"]) > 0.5


def test_analyze_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["comment"])
    for t, _ in ROWS:
        ws.append([t or None])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["analyze", str(src), "--text-column", "comment", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(ROWS)


def test_analyze_missing_column(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    _write_csv(src, "utf-8-sig")
    res = runner.invoke(app, ["analyze", str(src), "--text-column", "nope", "-o", str(tmp_path / "o.csv")])
    assert res.exit_code != 0


def test_evaluate(tmp_path: Path) -> None:
    src = tmp_path / "in.tsv"
    src.write_text(
        "text\tlabel\n" + "\n".join(f"{t}\t{'positive' if y else 'negative'}" for t, y in ROWS[:3]),
        encoding="utf-8",
    )
    res = runner.invoke(app, ["evaluate", str(src), "--text-column", "text", "--label-column", "label"])
    assert res.exit_code == 0, res.output
    assert "accuracy: 1.0000" in res.output
    assert "macro-F1:" in res.output


def _tiny_data(root: Path) -> Path:
    """Write a tiny data folder with the shared data's layout."""
    pos = ["很好很满意", "质量不错", "非常喜欢", "物流很快", "味道很好", "好评", "推荐购买", "还会再买"]
    neg = ["太差了", "质量很烂", "非常失望", "物流太慢", "味道难吃", "差评", "不推荐", "再也不买"]
    for name, header in (("online_shopping", "cat,label,review"), ("waimai", "label,review")):
        d = root / "reviews" / name
        d.mkdir(parents=True)
        lines = [header]
        for i in range(3):
            for t in pos:
                lines.append(("x," if name == "online_shopping" else "") + f"1,{t}{i}")
            for t in neg:
                lines.append(("x," if name == "online_shopping" else "") + f"0,{t}{i}")
        (d / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    en = root / "reviews" / "english"
    en.mkdir(parents=True)
    good = [f"great product number {i}\t1" for i in range(6)] + [
        f"awful thing number {i}\t0" for i in range(6)
    ]
    (en / "amazon_cells_labelled.txt").write_text("\n".join(good) + "\n", encoding="utf-8")
    (en / "imdb_labelled.txt").write_text("\n".join(good) + "\n", encoding="utf-8")
    asp = root / "aspects"
    asp.mkdir(parents=True)
    ex = []
    for i in range(6):
        ex += [f"$T$ 很 好 {i}", "屏 幕", "Positive", f"$T$ 太 差 {i}", "电 池", "Negative"]
    for dom in ("phone", "camera", "notebook"):
        (asp / f"{dom}.train.txt").write_text("\n".join(ex) + "\n", encoding="utf-8")
    return root


def test_train_on_tiny_data(tmp_path: Path) -> None:
    data = _tiny_data(tmp_path / "data")
    out = tmp_path / "model"
    res = runner.invoke(
        app, ["train", "--data-dir", str(data), "--out", str(out), "--n-features", str(2**14)]
    )
    assert res.exit_code == 0, res.output
    model = out / "text_model.joblib"
    assert model.exists()
    an = Analyzer(model_path=model)
    assert an.model_version.startswith("text-")
    assert an.analyze(["很好很满意"])[0].score > 0.5
