"""Suite-wide test settings: one intra-op torch thread; the ``cuda`` marker and GPU requirement.

The tests use small models and batches where intra-op parallelism buys little, and on a shared
2-core machine (CI's size) OpenMP threads contending with other processes made them 10–50×
slower (measured while writing them: tests/core 28 s with one thread vs 340 s with two under load).

A test marked ``cuda`` is skipped where torch sees no GPU, unless the run requires one
(``--require-cuda`` or ``LIT_REQUIRE_CUDA=1``): then it fails, so a GPU check that lost its GPU
cannot pass by skipping everything. Tests that run on both devices take the ``device`` fixture
("cpu" always; "cuda" marked ``cuda``), so CI runs every GPU test's body on the CPU.
"""

from __future__ import annotations

import os

import pytest
import torch

REQUIRE_CUDA_ENV = "LIT_REQUIRE_CUDA"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-cuda",
        action="store_true",
        help=f"fail (not skip) tests marked cuda when torch sees no GPU (also {REQUIRE_CUDA_ENV}=1)",
    )


def _cuda_required(config: pytest.Config) -> bool:
    return bool(config.getoption("--require-cuda")) or os.environ.get(REQUIRE_CUDA_ENV) == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("cuda") is None or torch.cuda.is_available():
        return
    if _cuda_required(item.config):
        pytest.fail(
            f"this run requires a CUDA GPU (--require-cuda or {REQUIRE_CUDA_ENV}=1) but torch "
            f"{torch.__version__} sees none (torch.version.cuda={torch.version.cuda})",
            pytrace=False,
        )
    pytest.skip("needs a CUDA GPU")


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request: pytest.FixtureRequest) -> str:
    """The device a two-device test runs on: "cpu" everywhere, "cuda" where a GPU is lent."""
    return request.param


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
