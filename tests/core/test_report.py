"""``lit_core.app.report``: summary.md / .json / .png are valid, complete and never silently replaced."""

from __future__ import annotations

import json

import pytest

from lit_core.app.report import SummaryRow, format_table, write_report

ROWS = [
    SummaryRow("teacher", "resnet20", 20, 269_722, 40_551_040, 0.91, 0.905, 120.0,
               history=[{"global_epoch": 1, "val_acc": 0.8}, {"global_epoch": 2, "val_acc": 0.91}]),
    SummaryRow("lit", "resnet8", 8, 75_290, 12_239_488, 0.88, 0.875, 60.5,
               history=[{"global_epoch": 1, "val_acc": 0.85}, {"global_epoch": 2, "val_acc": 0.88}]),
    SummaryRow("scratch", "resnet8", 8, 75_290, 12_239_488, 0.84, None, 30.0),
]


def test_report_writes_markdown_json_and_png(tmp_path):
    paths = write_report(tmp_path / "run", ROWS, title="demo", meta={"preset": "cpu"})
    md = paths["md"].read_text()
    assert "| method" in md and "preset" in md
    table_rows = [line for line in md.splitlines() if line.startswith("| ") and "resnet" in line]
    assert len(table_rows) == 3
    assert "90.50" in table_rows[0] and "0.270 M" in table_rows[0] and "40.551 M" in table_rows[0]
    assert "—" in table_rows[2]  # no test accuracy
    data = json.loads(paths["json"].read_text())
    assert [r["method"] for r in data["rows"]] == ["teacher", "lit", "scratch"]
    assert data["rows"][1] == ROWS[1].to_dict() and data["meta"] == {"preset": "cpu"}
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "summary.json", "summary.md", "summary.png"]  # no temp files left behind


def test_report_refuses_to_overwrite_and_keeps_the_old_files(tmp_path):
    paths = write_report(tmp_path, ROWS[:1])
    before = {k: p.read_bytes() for k, p in paths.items()}
    with pytest.raises(FileExistsError, match=r"summary\.md"):
        write_report(tmp_path, ROWS)
    assert {k: p.read_bytes() for k, p in paths.items()} == before
    write_report(tmp_path, ROWS, overwrite=True)
    assert len(json.loads(paths["json"].read_text())["rows"]) == 3


def test_table_columns_line_up():
    lines = format_table(ROWS).splitlines()
    assert len({len(line) for line in lines}) == 1 and len(lines) == 5


def test_rerender_report_adds_the_budget_from_the_run_record(tmp_path):
    """A summary written without budgets gains them from metrics-<method>.jsonl, rows intact."""
    import json

    from lit_core.app.report import SummaryRow, rerender_report, write_report

    hist = [{"phase": "ir", "epoch": 1, "step": 10, "lr": 0.1, "val_acc": 0.3},
            {"phase": "finetune", "epoch": 1, "step": 20, "lr": 0.01, "val_acc": 0.4},
            {"phase": "finetune", "epoch": 2, "step": 30, "lr": 0.001, "val_acc": 0.5}]
    row = SummaryRow("lit", "resnet8", 8, 100, 1000, 0.5, 0.4, 1.0)
    write_report(tmp_path, [row], title="old", meta={"preset": "cpu"})
    assert "budget per phase" not in (tmp_path / "summary.md").read_text()
    (tmp_path / "metrics-lit.jsonl").write_text("\n".join(json.dumps(h) for h in hist) + "\n")
    rerender_report(tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "| lit | ir | 1 | 10 |" in md and "| lit | finetune | 2 | 20 |" in md
    assert "- **preset**: cpu" in md and "# old" in md
    rows = json.loads((tmp_path / "summary.json").read_text())["rows"]
    assert rows[0]["val_acc"] == 0.5 and [b["phase"] for b in rows[0]["budget"]] == ["ir", "finetune"]
