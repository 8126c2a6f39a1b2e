"""Loading a shipped ``.keras`` file without running code from it, or one clear error."""

import json
import zipfile
from pathlib import Path
from typing import Any

import keras

from gan_helpers.models import IMAGE_SHAPE

ROLES = ("generator", "discriminator")


class PretrainedWeightsError(Exception):
    """A shipped model file is missing or unusable; the message says how to fix it."""


def load_model_file(path: Path, role: str | None = None, *, fix: str = "") -> keras.Model:
    """Load a ``.keras`` file without running any code from it, its shapes fitting ``role``;
    problems raise :class:`PretrainedWeightsError` naming the file, plus ``fix``."""
    path, fix = Path(path), f" {fix}" if fix else ""
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES} or None, got {role!r}")
    if not path.is_file():
        raise PretrainedWeightsError(f"{path} does not exist.{fix}")
    if not zipfile.is_zipfile(path):  # as every .keras file is
        with open(path, "rb") as file:
            starts_like_zip = file.read(4) == b"PK\x03\x04"
        size = path.stat().st_size
        what = (
            "it is truncated or damaged (it starts like a Keras zip archive but does not end like "
            "one)"
            if starts_like_zip
            else "it is not a Keras file (a .keras file is a zip archive)"
        )
        raise PretrainedWeightsError(
            f"{path} could not be loaded: {what}; {size:,} bytes{', empty' if size == 0 else ''}"
            f".{fix}"
        ) from None
    code = _code_in_archive(path)
    if code:
        raise PretrainedWeightsError(
            f"{path} contains code ({', '.join(code)}) and was not loaded: running it could "
            f"do anything on this computer. Use a model file made without Lambda layers.{fix}"
        )
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        what = "could not be loaded as a Keras model; it may be truncated or damaged"
        if "safe_mode" in str(error):
            what = "contains code and was not loaded"
        # ``from None``: one message, no chained traceback, as for every error here.
        raise PretrainedWeightsError(f"{path} {what} ({detail}).{fix}") from None
    if role is not None and not _fits(model, role):
        other = [name for name in ROLES if _fits(model, name)]
        guess = f", which is what a {other[0]} does" if other else ""
        expected = {
            "generator": "(n, latent_dim) latent vectors (and digits) to (n, 28, 28, 1) images",
            "discriminator": "(n, 28, 28, 1) images (and digits) to (n, 1) probabilities",
        }[role]
        raise PretrainedWeightsError(
            f"{path} holds a model that maps {_shapes(model)[0]} to {_shapes(model)[1]}{guess}; "
            f"a {role} maps {expected}. The file holds another architecture than its "
            f"name says.{fix}"
        )
    return model


def _code_in_archive(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []  # unreadable: the loader reports it
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("class_name")
            if kind in ("Lambda", "__lambda__"):  # what is inside is its code
                name = (node.get("config") or {}).get("name")
                label = "a Lambda layer" if kind == "Lambda" else "a Python lambda"
                found.append(f"{label} named {name!r}" if isinstance(name, str) else label)
                return
            node = list(node.values())
        if isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def _shapes(model: keras.Model) -> tuple[Any, Any]:
    try:
        return model.input_shape, model.output_shape
    except (AttributeError, ValueError):
        return None, None


def _fits(model: keras.Model, role: str) -> bool:
    """Do ``model``'s shapes fit ``role``? A conditional model's second input is the digit."""
    inputs, outputs = _shapes(model)
    if isinstance(inputs, list):
        if len(inputs) != 2 or tuple(inputs[1]) != (None, 1):
            return False
        inputs = inputs[0]
    if not isinstance(inputs, tuple) or not isinstance(outputs, tuple):
        return False
    if role == "generator":
        return len(inputs) == 2 and outputs[1:] == IMAGE_SHAPE
    return inputs[1:] == IMAGE_SHAPE and outputs[1:] == (1,)
