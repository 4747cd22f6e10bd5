"""results/study-depth-gap/tables.py: the study's side-by-side table from run records."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("scipy")

ROOT = Path(__file__).parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("depth_gap_tables", ROOT / "results/study-depth-gap/tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tables = _load()


def _run(path: Path, jobs: dict[str, float]) -> Path:
    path.mkdir()
    state = {"study": {"kind": "seeds", "base": {}},
             "jobs": {name: {"val_acc": acc, "test_acc": acc,
                             "budget": [{"phase": "a", "lr_sum": 0.5}, {"phase": "b", "lr_sum": 0.25}]}
                      for name, acc in jobs.items()}}
    (path / "state.json").write_text(json.dumps(state))
    return path


def test_rows_from_two_runs_keep_only_the_given_seeds(tmp_path):
    a = _run(tmp_path / "primary", {"lit-seed1": 0.91, "kd-seed1": 0.90, "lit-seed4": 0.5})
    b = _run(tmp_path / "alt", {"dkd-seed1": 0.89})
    rows = tables.job_rows([a, b], [1])
    assert sorted(r["job"] for r in rows) == ["dkd-seed1", "kd-seed1", "lit-seed1"]
    assert {r["lr_sum"] for r in rows} == {0.75}


def test_paired_differences_and_inheritance(tmp_path):
    lit = {1: 0.910, 2: 0.915, 3: 0.905}
    kd = {1: 0.905, 2: 0.912, 3: 0.904}
    dkd = {1: 0.900, 2: 0.901, 3: 0.899}
    a = _run(tmp_path / "primary", {**{f"lit-seed{s}": v for s, v in lit.items()},
                                    **{f"kd-seed{s}": v for s, v in kd.items()}})
    b = _run(tmp_path / "alt", {f"dkd-seed{s}": v for s, v in dkd.items()})
    inh = tmp_path / "inh.json"
    inh.write_text(json.dumps({"rows": [{"job": f"jobs/dkd-seed{s}", "inherits_teacher_error": 0.5 + s / 10}
                                        for s in (1, 2, 3)]}))
    table = {r["method"]: r for r in tables.side_by_side(tables.job_rows([a, b], [1, 2, 3]),
                                                         tables.inheritance_by_job([inh]))}
    d = [dkd[s] - lit[s] for s in (1, 2, 3)]
    mean = sum(d) / 3
    assert table["dkd"]["vs_lit"]["mean_diff"] == pytest.approx(mean)
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2)
    assert table["dkd"]["vs_lit"]["ci_low"] == pytest.approx(mean - half)
    assert table["dkd"]["inherits_mean"] == pytest.approx(0.7)
    assert table["lit"]["vs_lit"] is None and table["lit"]["inherits_mean"] is None
    assert table["kd"]["vs_lit"]["mean_diff"] == pytest.approx(sum(kd[s] - lit[s] for s in lit) / 3)
    text = tables.markdown(list(table.values()))
    assert "| dkd | 1,2,3 | 90.00 ± 0.10 | 0.75 | 70.0 |" in text


def test_refuses_a_job_in_two_runs_and_an_absent_seed(tmp_path, capsys):
    a = _run(tmp_path / "a", {"lit-seed1": 0.9})
    b = _run(tmp_path / "b", {"lit-seed1": 0.8})
    with pytest.raises(ValueError, match="lit-seed1 is in two runs"):
        tables.job_rows([a, b], [1])
    assert tables.main([str(a), "--seeds", "1,7"]) == 2
    assert "seed(s) [7]" in capsys.readouterr().err
    assert tables.main([str(a), "--seeds", "1;2"]) == 2
    assert "expected comma-separated integers" in capsys.readouterr().err


def test_writes_markdown_and_json(tmp_path):
    a = _run(tmp_path / "a", {"lit-seed1": 0.9, "kd-seed1": 0.8, "lit-seed2": 0.91, "kd-seed2": 0.82})
    assert tables.main([str(a), "--seeds", "1,2", "--out", str(tmp_path / "side")]) == 0
    data = json.loads((tmp_path / "side.json").read_text())
    assert data["seeds"] == [1, 2]
    assert (tmp_path / "side.md").read_text().startswith("| method |")
