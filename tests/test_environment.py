"""pip and conda install the same packages, at the versions requirements/constraints.txt pins.

Three files say what gets installed: ``pyproject.toml`` (the packages, with the oldest
versions the code supports), ``requirements/constraints.txt`` (the exact versions ``make
install`` and CI use, written by ``make lock``) and ``environment.yml`` (conda: the same
packages at the same exact versions, through pip, under the same constraints).
"""

from __future__ import annotations

import platform
import re
import tomllib
from importlib import metadata

import yaml
from packaging.requirements import Requirement

from gan_helpers.paths import project_root

CONSTRAINTS = "requirements/constraints.txt"
# What conda installs itself: the interpreter, pip, and the graphviz program pip cannot provide.
CONDA_PACKAGES = {"python", "pip", "graphviz"}
# The packages the project's users named: their versions must be visible in environment.yml.
NAMED = {"tensorflow", "keras", "numpy", "matplotlib", "jupyterlab", "nbval", "ipywidgets"}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["test"]
    return {_name(r.name): r for r in map(Requirement, listed)}


def pins() -> dict[str, str]:
    """``requirements/constraints.txt`` as {package: version}."""
    lines = (project_root() / CONSTRAINTS).read_text().splitlines()
    found = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            found[_name(name)] = version.strip()
    return found


def conda_environment() -> tuple[list[str], list[str]]:
    """environment.yml's conda packages and its pip section, as written."""
    environment = yaml.safe_load((project_root() / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    return conda, pip


def conda_pip_requirements() -> dict[str, Requirement]:
    _, pip = conda_environment()
    listed = [line for line in pip if not line.startswith("-")]
    return {_name(r.name): r for r in map(Requirement, listed)}


def test_the_constraints_pin_every_package_once_and_exactly() -> None:
    lines = [
        line
        for line in (project_root() / CONSTRAINTS).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^=\s;]+", line) for line in lines), lines
    assert len(pins()) == len(lines), "a package is pinned twice"


def test_every_package_pyproject_lists_is_pinned_within_its_bounds() -> None:
    pinned = pins()
    for name, requirement in pyproject_requirements().items():
        assert name in pinned, f"{name} is in pyproject.toml but not in {CONSTRAINTS}: make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{CONSTRAINTS} pins {name}=={pinned[name]}, outside pyproject's {requirement}"
        )


def test_pyproject_gives_lower_bounds_not_pins() -> None:
    # Pins live in the constraints file; pyproject says what the code needs, so that the
    # package still installs next to other projects' versions.
    for name, requirement in pyproject_requirements().items():
        assert all(spec.operator == ">=" for spec in requirement.specifier), (name, requirement)


def test_conda_installs_the_same_packages_at_the_pinned_versions() -> None:
    pip, conda, pinned = pyproject_requirements(), conda_pip_requirements(), pins()
    assert pip.keys() == conda.keys(), (
        f"only in pyproject.toml: {sorted(pip.keys() - conda.keys())}; "
        f"only in environment.yml: {sorted(conda.keys() - pip.keys())}"
    )
    for name, requirement in conda.items():
        assert str(requirement.specifier) == f"=={pinned[name]}", (
            f"environment.yml has {requirement}; {CONSTRAINTS} pins {name}=={pinned[name]}"
        )


def test_the_named_packages_are_pinned_in_environment_yml() -> None:
    conda = conda_pip_requirements()
    assert NAMED <= conda.keys()
    assert all(str(conda[name].specifier).startswith("==") for name in NAMED)


def test_conda_uses_the_constraints_the_python_and_installs_the_package_itself() -> None:
    conda, pip = conda_environment()
    assert {re.split(r"[=<>]", d)[0] for d in conda} == CONDA_PACKAGES
    assert f"-c {CONSTRAINTS}" in pip
    assert "-e ." in pip
    # The pins were resolved on one Python: conda must bring the same minor version.
    header = (project_root() / CONSTRAINTS).read_text()
    locked = re.search(r"^# Python (\d+\.\d+)\.", header, re.MULTILINE).group(1)
    assert f"python={locked}" in conda


def test_this_venv_holds_the_pinned_versions() -> None:
    # make install and CI install from the constraints. A mismatch here means the venv was
    # upgraded (make upgrade) without `make lock`, or the pins changed without `make install`.
    # pip itself is left out: in a conda environment it is conda's.
    installed = {_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    different = {
        name: (version, installed[name])
        for name, version in pins().items()
        if name != "pip" and name in installed and installed[name] != version
    }
    assert not different, f"(pinned, installed) on Python {platform.python_version()}: {different}"
