"""Where the shared corpus and workloads are: ASLRT_CONFORMANCE_DIR and ASLRT_BENCH_DIR, or the
folders beside the repository."""

from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def shared(variable: str, name: str) -> pathlib.Path:
    folder = pathlib.Path(os.environ.get(variable) or ROOT.parent / "shared" / name)
    if not folder.is_dir():
        if os.environ.get("ASLRT_ALLOW_MISSING_CORPUS") == "1":
            pytest.skip(f"nothing at {folder} (ASLRT_ALLOW_MISSING_CORPUS=1)")
        raise AssertionError(f"nothing at {folder}: set {variable}, or ASLRT_ALLOW_MISSING_CORPUS=1 to skip")
    return folder


@pytest.fixture(scope="session")
def conformance_dir() -> pathlib.Path:
    return shared("ASLRT_CONFORMANCE_DIR", "conformance")


@pytest.fixture(scope="session")
def bench_dir() -> pathlib.Path:
    return shared("ASLRT_BENCH_DIR", "bench")
