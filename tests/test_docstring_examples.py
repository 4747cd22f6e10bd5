"""The public API's docstrings: every public function documents its arguments and return value
and shows an example, and every example in them runs (doctest, in an empty temporary directory).

Public: the names in ``lit_core.__all__`` and ``lit_bench.__all__``, and lit-models'
``create_model``, ``list_models`` and ``as_staged``. Examples run with the package's public
names in scope; a line marked ``# doctest: +SKIP`` (a long run) is shown, not run."""

from __future__ import annotations

import doctest
import inspect
import logging

import pytest

import lit_bench
import lit_core
import lit_models

PUBLIC = [(lit_core, n) for n in lit_core.__all__] + \
    [(lit_models, n) for n in ("create_model", "list_models", "as_staged")] + \
    [(lit_bench, n) for n in lit_bench.__all__]
FUNCTIONS = [(m, n) for m, n in PUBLIC if inspect.isfunction(inspect.unwrap(getattr(m, n)))]
WITH_EXAMPLES = [(m, n) for m, n in PUBLIC
                 if (inspect.isfunction(inspect.unwrap(getattr(m, n))) or inspect.isclass(getattr(m, n)))
                 and ">>>" in (inspect.getdoc(getattr(m, n)) or "")]


def _ids(pairs):
    return [f"{m.__name__}.{n}" for m, n in pairs]


@pytest.mark.parametrize(("module", "name"), FUNCTIONS, ids=_ids(FUNCTIONS))
def test_public_function_documents_args_returns_and_an_example(module, name):
    func = getattr(module, name)
    doc = inspect.getdoc(func) or ""
    params = [p for p in inspect.signature(func).parameters if p not in ("self",)]
    missing = [s for s, needed in (("Args:", bool(params)), ("Returns:", True), ("Examples:", True))
               if needed and f"\n{s}\n" not in f"\n{doc}\n"]
    assert not missing, f"{module.__name__}.{name}'s docstring lacks {missing}"
    if params:
        args = doc.split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]
        undocumented = [p for p in params if not any(
            line.strip().startswith((f"{p}:", f"*{p}:", f"**{p}:")) for line in args.splitlines())]
        assert not undocumented, f"{module.__name__}.{name}: Args does not name {undocumented}"


@pytest.mark.parametrize(("module", "name"), WITH_EXAMPLES, ids=_ids(WITH_EXAMPLES))
def test_docstring_example_runs(module, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a `lit` command run earlier in this process leaves its stdout log handler on lit_core
    monkeypatch.setattr(logging.getLogger("lit_core"), "handlers", [])
    monkeypatch.setenv("LIT_DISABLE_EXT", "1")  # fuse_model's example: the reference path, no build
    obj = getattr(module, name)
    globs = {k: getattr(module, k) for k in module.__all__}
    tests = doctest.DocTestFinder(recurse=False).find(obj, f"{module.__name__}.{name}", globs=globs)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0
