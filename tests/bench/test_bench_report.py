"""The bench report from small synthetic row sets: spreads shown, noisy rows flagged, no speed-up
stated from noisy rows or from differences inside the spreads; plots without empty ones."""

from __future__ import annotations

import pytest

from lit_bench.report import findings, markdown, unproven


def _row(model: str, ms: float, *, variant: str = "dense", backend: str = "eager", spread: float | None = 2.0,
         batch: int = 1, accuracy: float | None = None, role: str | None = None) -> dict:
    return {
        "model": model, "variant": variant, "role": role, "backend": backend, "device": "cpu", "dtype": "fp32",
        "batch_size": batch, "latency_ms_p50": ms, "latency_ms_p90": ms * 1.1, "latency_ms_p99": None,
        "throughput_items_s": batch / ms * 1000, "runs": 20, "repeats": None if spread is None else 5,
        "spread_pct": spread, "noisy": None if spread is None else spread > 10.0, "peak_mem_bytes": None,
        "params": 1000, "macs": 2.0e6, "conv_layers": 19, "accuracy": accuracy, "accuracy_std": None,
        "accuracy_n": None, "max_rel_error": 0.0, "gpu_state": None, "status": "ok", "reason": None, "note": None,
    }


def test_a_clear_difference_is_stated_as_a_speed_up():
    rows = [_row("resnet20", 1.0), _row("resnet56", 2.5)]
    assert unproven(rows[0], rows[1]) is None
    assert "eager fp32: resnet20 is 2.50× faster than resnet56 at batch 1 (1 ms vs 2.5 ms)." in findings(rows)


@pytest.mark.parametrize(("student", "teacher", "why"), [
    ((1.0, 30.0), (2.5, 2.0), "resnet20/dense eager fp32 is noisy"),  # noisy student
    ((1.0, 2.0), (2.5, 40.0), "resnet56/dense eager fp32 is noisy"),  # noisy teacher
    ((1.0, 8.0), (1.1, 5.0), "differ by less than their spreads"),  # 0.1 ms apart, bands 0.08 + 0.055 ms
])
def test_no_speed_up_is_stated_from_a_noisy_row_or_inside_the_spreads(student, teacher, why):
    rows = [_row("resnet20", student[0], spread=student[1]), _row("resnet56", teacher[0], spread=teacher[1])]
    found = findings(rows)
    assert not any("× faster" in f for f in found), found
    assert any("resnet20 vs resnet56" in f and "no speed-up stated" in f and why in f for f in found), found


def test_just_outside_the_spreads_is_a_speed_up_and_rows_without_spreads_are_compared():
    assert unproven(_row("a", 1.0, spread=5.0), _row("b", 1.2, spread=5.0)) is None  # 0.2 > 0.05 + 0.06
    assert unproven(_row("a", 1.0, spread=5.0), _row("b", 1.1, spread=5.0)) is not None  # 0.1 < 0.105
    assert unproven(_row("a", 1.0, spread=None), _row("b", 1.01, spread=None)) is None  # old rows: no repeats


def test_pruned_baselines_inside_the_noise_are_not_called_faster():
    rows = [_row("resnet20", 1.0), _row("resnet56", 0.99, variant="l1-B"), _row("resnet56", 0.5, variant="l1-A"),
            _row("resnet56", 3.0)]
    found = findings(rows)
    assert "eager fp32: pruned baselines faster than resnet20 (1 ms): resnet56/l1-A 0.5 ms." in found
    assert any("not distinguishable from resnet20" in f and "resnet56/l1-B 0.99 ms" in f for f in found)


def test_a_run_finding_is_not_a_speed_up_when_student_and_teacher_are_noisy():
    rows = [_row("resnet8", 1.0, spread=50.0, accuracy=0.8, role="student"),
            _row("resnet14", 2.17, accuracy=0.85, role="teacher"),
            _row("resnet14", 1.5, variant="l1", spread=50.0, accuracy=0.82, role="pruned")]
    found = findings(rows)
    assert not any("× faster" in f for f in found), found
    assert any("most accurate student resnet8/dense (80.00%) shows no speed-up stated" in f for f in found)
    assert any("resnet14/l1 (82.00%, 1.5 ms) is within timing noise of resnet8/dense" in f for f in found)


def test_the_markdown_shows_each_rows_spread_and_flags_noisy_rows():
    rows = [_row("resnet20", 1.0, spread=3.25), _row("resnet56", 2.5, spread=14.0), _row("resnet110", 5.0, spread=None),
            _row("resnet20", 0.5, batch=4, spread=12.0)]
    md = markdown(rows, {})
    header = next(ln for ln in md.splitlines() if ln.startswith("| model | variant"))
    col = header.split(" | ").index("spread %")
    table = [ln.split(" | ") for ln in md.splitlines() if ln.startswith("| resnet") and "fp32 | 1,000" in ln]
    spreads = {cells[0].lstrip("| "): cells[col] for cells in table}
    assert spreads == {"resnet20": "3.2", "resnet56": "14.0 **noisy**", "resnet110": "—"}
    assert "| resnet20 | dense | eager | fp32 | 8000 (12.0 %) **noisy** |" in md  # throughput table, b=4
    assert "2 row(s) are noisy" in md


def _legends(fig) -> list:
    from matplotlib.legend import Legend

    (ax,) = fig.axes
    return [c for c in ax.get_children() if isinstance(c, Legend)]


def _grid() -> list[dict]:
    """3 models × 5 backends × 3 batch sizes: 15 series, as a report of a real sweep has."""
    return [_row(m, ms * (i + 1), backend=b, batch=n)
            for i, m in enumerate(("resnet20", "resnet56", "resnet110"))
            for ms, b in zip((1.0, 0.8, 0.7, 0.6, 0.5), ("eager", "eager_folded", "compile", "onnxrt", "fused"),
                             strict=True)
            for n in (1, 8, 64)]


def test_one_colour_per_model_one_marker_per_backend_and_two_legends():
    import matplotlib.pyplot as plt

    from lit_bench.report import PLOTS, figures

    figs = figures(_grid())
    try:
        assert set(figs) == {"latency_vs_conv_layers.png", "latency_vs_macs.png", "throughput_vs_batch.png"}
        for name, fig in figs.items():
            models, backends = _legends(fig)
            assert [t.get_text() for t in models.get_texts()] == ["resnet110/dense", "resnet20/dense", "resnet56/dense"]
            assert len(backends.get_texts()) == 5, name
            colours = {tuple(h.get_color()) for h in models.legend_handles}
            markers = {h.get_marker() for h in backends.legend_handles}
            assert len(colours) == 3 and len(markers) == 5, name
        lines = figs[PLOTS[4]].axes[0].get_lines()
        assert len(lines) == 15  # one line per model × backend, drawn with 3 colours and 5 markers
        assert len({ln.get_color() if isinstance(ln.get_color(), str) else tuple(ln.get_color()) for ln in lines}) == 3
        assert len({ln.get_marker() for ln in lines}) == 5
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_many_models_still_get_distinct_colours():
    from lit_bench.report import PlotStyle

    style = PlotStyle.of([_row(f"m{i}", 1.0) for i in range(30)])
    assert len(set(style.colors.values())) == 30


def test_accuracy_plots_are_left_out_without_accuracies_and_the_report_says_so(tmp_path):
    from lit_bench.report import write_report

    paths = write_report(tmp_path / "a", _grid())
    assert not (tmp_path / "a" / "latency_vs_accuracy.png").exists()
    assert not (tmp_path / "a" / "throughput_vs_accuracy.png").exists()
    assert (tmp_path / "a" / "throughput_vs_batch.png").stat().st_size > 1000 and "throughput_vs_batch" in paths
    md = (tmp_path / "a" / "report.md").read_text()
    assert "![latency_vs_accuracy.png]" not in md and "![latency_vs_macs.png](latency_vs_macs.png)" in md
    assert "- `latency_vs_accuracy.png` not drawn: no row has an accuracy" in md

    with_acc = [dict(r, accuracy=0.9) if r["model"] == "resnet20" else r for r in _grid()]
    write_report(tmp_path / "b", with_acc)
    assert (tmp_path / "b" / "latency_vs_accuracy.png").stat().st_size > 1000
    assert "![latency_vs_accuracy.png](latency_vs_accuracy.png)" in (tmp_path / "b" / "report.md").read_text()


def test_accuracy_is_in_percent_and_macs_in_millions_as_in_lits_summary():
    r = dict(_row("resnet20", 1.0, accuracy=0.8123), macs=40_550_000, accuracy_std=0.0021, accuracy_n=5)
    md = markdown([r], {})
    assert "| params | M MACs | conv layers | accuracy % |" in md
    assert "| 1,000 | 40.55 | 19 | 81.23 ± 0.21 (n=5) |" in md


def test_the_input_shape_is_stated_per_group_of_models():
    md = markdown([_row("vdcnn9", 1.0)], {"inputs": {"(64,) int64": ["vdcnn9/dense"], "(3, 32, 32) float32": ["a/b"]}})
    assert "- **input per item**: `(64,) int64` (vdcnn9/dense); a batch of b stacks b of them" in md
    assert "- **input per item**: `(3, 32, 32) float32` (a/b)" in md


def test_a_student_is_never_called_a_pruned_baseline():
    rows = [_row("resnet20", 1.0), _row("resnet20", 0.9, variant="lit", role="student"),
            _row("resnet110", 3.0, variant="l1-B", role="pruned"), _row("resnet110", 5.0, role="teacher")]
    text = " ".join(findings(rows))
    assert "resnet20/lit" not in text  # faster than resnet20/dense, but a student, not a pruned baseline
    assert "resnet20 (1 ms) is faster than every pruned baseline" in text


def _overlaps(fig) -> list[tuple[str, str]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        texts = [t for t in ax.texts if t.get_visible() and t.get_text()]
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
        for i, (a, box_a) in enumerate(boxes):
            out += [(a, b) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]
    return out


def test_plot_labels_do_not_overlap_even_where_points_do():
    import matplotlib.pyplot as plt

    from lit_bench.report import figures

    # three models and two backends at (almost) the same latency, MACs and depth
    rows = [_row(m, 1.0 + 0.001 * i, backend=b) for i, m in enumerate(("resnet20", "resnet32", "resnet56"))
            for b in ("eager", "compile")]
    figs = figures(rows)
    try:
        assert figs and all(_overlaps(fig) == [] for fig in figs.values())
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_a_compile_row_says_cuda_graphs_only_when_inductor_graphed_it():
    from lit_bench.report import backend_label

    graphed = _row("resnet20", 1.0, backend="compile") | {"note": "torch.compile mode=reduce-overhead, with CUDA graphs"}
    skipped = _row("resnet20", 1.0, backend="compile") | {
        "note": "torch.compile mode=max-autotune, CUDA graphs skipped by Inductor (plain compile)"}
    assert backend_label(graphed) == "compile+CUDA graphs" and backend_label(skipped) == "compile"
    md = markdown([graphed, skipped | {"dtype": "bf16"}], {"notes": []})
    assert "| resnet20 | dense | compile+CUDA graphs | fp32 |" in md and "| resnet20 | dense | compile | bf16 |" in md


def test_without_matplotlib_the_report_is_written_and_says_why_there_are_no_plots(tmp_path, monkeypatch):
    import sys

    from lit_bench.report import write_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    paths = write_report(tmp_path, [_row("resnet20", 1.0), _row("resnet110", 5.0)], meta={"notes": []})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "results.json"]
    md = paths["markdown"].read_text()
    assert "`latency_vs_macs.png` not drawn: matplotlib is not installed (pip install matplotlib)" in md
