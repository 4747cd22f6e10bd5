"""The ``lit`` command's stdout log lines are its own: a library caller that ran a command in the
same process gets a silent ``fit(quiet=True)`` afterwards."""

from __future__ import annotations

import logging

from lit_tiny import batches, resnet

from lit_core import TrainConfig, fit
from lit_core.cli.main import main


def test_fit_quiet_after_a_cli_command_prints_nothing(tmp_path, capsys):
    logger = logging.getLogger("lit_core")
    handlers, level = list(logger.handlers), logger.level
    assert main(["--list-presets"]) == 0
    assert logger.handlers == handlers and logger.level == level  # the command undid its handler
    capsys.readouterr()
    cfg = TrainConfig(device="cpu", epochs=1, progress=False)
    fit(resnet(8), None, batches(2), batches(1), method="scratch", config=cfg,
        run_dir=tmp_path / "r", quiet=True)
    out = capsys.readouterr()
    assert "lit:" not in out.out and "lit:" not in out.err
