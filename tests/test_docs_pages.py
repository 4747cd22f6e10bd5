"""The docs pages stay true: docs/cli.md has one section per ``lit`` command with an example the
parser accepts, and docs/getting-started.md's ten lines run (with one epoch per phase)."""

from __future__ import annotations

import argparse
import logging
import re
import shlex
from pathlib import Path

import pytest

from lit_core.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def _examples() -> dict[str, str]:
    """``{command: the example command line}`` of each ``## `lit X` `` section."""
    sections = re.split(r"^## `lit ([\w-]+)`$", CLI_PAGE, flags=re.M)[1:]
    out = {}
    for name, body in zip(sections[::2], sections[1::2], strict=True):
        out[name] = re.search(r"```bash\n(lit .*?)\n```", body, re.S).group(1)
    return out


def test_cli_page_has_a_section_for_every_command_and_no_other():
    assert list(_examples()) == _commands()


@pytest.mark.parametrize(("command", "line"), sorted(_examples().items()))
def test_cli_page_example_is_accepted_by_the_parser(command, line):
    argv = shlex.split(line)[1:]
    args = build_parser().parse_args(argv)  # exits 2 on an option the command does not have
    assert args.command == command


def test_getting_started_snippet_runs(tmp_path, monkeypatch, capsys):
    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    body = [ln for ln in code.splitlines() if ln.strip() and not ln.startswith(("import ", "from "))]
    assert len(body) <= 10
    fast = re.sub(r"(teacher_epochs|ir_epochs|epochs)=\d+", r"\1=1", code)
    assert fast != code
    monkeypatch.chdir(tmp_path)
    # a `lit` command run earlier in this process leaves its stdout log handler on lit_core
    monkeypatch.setattr(logging.getLogger("lit_core"), "handlers", [])
    exec(compile(fast, "getting-started.md", "exec"), {})
    teacher_acc, student_acc = map(float, capsys.readouterr().out.split())
    assert 0 <= student_acc <= 1 and 0 <= teacher_acc <= 1
    assert list(tmp_path.iterdir()) == []  # run_dir=None: nothing written
