"""pip (pyproject.toml) and conda (environment.yml) must install the same packages."""

from __future__ import annotations

import re
import tomllib

import yaml

from gan_helpers.paths import project_root

# What conda needs besides the Python packages: the interpreter, pip itself, and the
# graphviz program that pip cannot provide.
CONDA_ONLY = {"python", "pip", "graphviz"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def pip_requirements() -> dict[str, str]:
    project = tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_split(r) for r in listed)


def conda_requirements() -> dict[str, str]:
    environment = yaml.safe_load((project_root() / "environment.yml").read_text())
    found = dict(_split(d) for d in environment["dependencies"] if isinstance(d, str))
    return {name: spec for name, spec in found.items() if name not in CONDA_ONLY}


def test_pip_and_conda_list_the_same_packages_and_versions() -> None:
    pip, conda = pip_requirements(), conda_requirements()
    assert pip.keys() == conda.keys(), (
        f"only in pyproject.toml: {sorted(pip.keys() - conda.keys())}; "
        f"only in environment.yml: {sorted(conda.keys() - pip.keys())}"
    )
    assert pip == conda


def test_the_named_packages_are_listed() -> None:
    named = {"tensorflow", "keras", "numpy", "matplotlib", "jupyterlab", "nbval", "ipywidgets"}
    assert named <= pip_requirements().keys()
    assert pip_requirements()["keras"] == ">=3.8"


def test_conda_installs_the_package_itself() -> None:
    environment = yaml.safe_load((project_root() / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section
