"""The stubs say what the module is: mypy's stubtest finds no difference between _native.pyi
and the compiled module, and the package and its tests type-check under --strict."""

from __future__ import annotations

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def run(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=HERE.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_stubs_match_the_module() -> None:
    run("mypy.stubtest", "aslrt")


def test_the_package_and_its_tests_type_check() -> None:
    run("mypy", "--strict", "--no-incremental", "python/aslrt", "tests")
