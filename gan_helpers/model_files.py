"""Loading a shipped ``.keras`` file without running code from it, or one clear error.

The notebooks load two kinds of shipped model files: the pretrained GAN
(:mod:`gan_helpers.pretrained`) and the evaluation classifier (:mod:`gan_helpers.evaluation`).
Both go through :func:`load_model_file`, so a damaged file, a file that is not a Keras model
or one that carries code gets the same message naming the file and how to fix it, instead of
whatever Keras raises.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import keras

from gan_helpers.models import IMAGE_SHAPE

ROLES = ("generator", "discriminator")
# Layer classes whose configuration carries Python code (a marshalled lambda).
_CODE_CLASSES = {"Lambda", "__lambda__"}


class PretrainedWeightsError(Exception):
    """A shipped model file is missing or unusable; the message says how to fix it."""


def load_model_file(path: Path, role: str | None = None, *, fix: str = "") -> keras.Model:
    """Load a ``.keras`` file without running any code from it; one clear error otherwise.

    Keras' safe mode is on, and a file whose model contains code (a ``Lambda`` layer, whose
    Python function is stored in the file) is refused before Keras reads it. With a
    ``role`` ("generator" or "discriminator") the model's input and output shapes must fit
    that role: a generator maps (n, latent_dim) to (n, 28, 28, 1) images, a discriminator
    maps such images to (n, 1). Every problem (missing, truncated, not a Keras file, code,
    wrong role) raises :class:`PretrainedWeightsError` naming the file; ``fix`` is appended
    to the message.
    """
    path = Path(path)
    fix = f" {fix}" if fix else ""
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES} or None, got {role!r}")
    if not path.is_file():
        raise PretrainedWeightsError(f"{path} does not exist.{fix}")
    if not zipfile.is_zipfile(path):
        size = path.stat().st_size
        with open(path, "rb") as file:
            starts_like_zip = file.read(4) == b"PK\x03\x04"
        what = (
            "it is truncated or damaged (it starts like a Keras zip archive but does not end "
            "like one)"
            if starts_like_zip
            else "it is not a Keras file (a .keras file is a zip archive)"
        )
        raise PretrainedWeightsError(
            f"{path} could not be loaded: {what}; {size:,} bytes"
            f"{', empty' if size == 0 else ''}.{fix}"
        ) from None  # one message, no chained traceback, as for every error here
    code = _code_in_archive(path)
    if code:
        raise PretrainedWeightsError(
            f"{path} contains code ({', '.join(code)}) and was not loaded: running it could "
            "do anything on this computer. Use a model file made without Lambda layers, "
            f"such as the ones this project ships.{fix}"
        )
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file
        detail = str(error).splitlines()[0][:200] if str(error) else ""
        if "safe_mode" in str(error):
            raise PretrainedWeightsError(
                f"{path} contains code and was not loaded ({detail}).{fix}"
            ) from None
        raise PretrainedWeightsError(
            f"{path} could not be loaded as a Keras model ({type(error).__name__}: "
            f"{detail}); it may be truncated or damaged.{fix}"
        ) from None
    if role is not None:
        _check_role(model, role, path, fix)
    return model


def _code_in_archive(path: Path) -> list[str]:
    """Descriptions of the layers in ``path``'s model config that carry Python code."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []  # unreadable: the loader below reports it
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("class_name")
            if kind in _CODE_CLASSES:  # recorded once; what is inside is its code
                config = node.get("config")
                name = config.get("name") if isinstance(config, dict) else None
                label = "a Lambda layer" if kind == "Lambda" else "a Python lambda"
                found.append(f"{label} named {name!r}" if isinstance(name, str) else label)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def _check_role(model: keras.Model, role: str, path: Path, fix: str) -> None:
    try:
        inputs, outputs = model.input_shape, model.output_shape
    except (AttributeError, ValueError):
        inputs = outputs = None
    # A conditional model's second input is the digit, shape (n, 1).
    first_input = inputs[0] if isinstance(inputs, list) and inputs else inputs
    second_ok = not isinstance(inputs, list) or (len(inputs) == 2 and tuple(inputs[1]) == (None, 1))
    looks_like = {
        "generator": isinstance(first_input, tuple)
        and len(first_input) == 2
        and second_ok
        and tuple(outputs or ())[1:] == IMAGE_SHAPE,
        "discriminator": isinstance(first_input, tuple)
        and tuple(first_input[1:]) == IMAGE_SHAPE
        and second_ok
        and tuple(outputs or ())[1:] == (1,),
    }
    if looks_like[role]:
        return
    expected = {
        "generator": "(n, latent_dim) latent vectors (and digits) to (n, 28, 28, 1) images",
        "discriminator": "(n, 28, 28, 1) images (and digits) to (n, 1) probabilities",
    }[role]
    other = [name for name, fits in looks_like.items() if fits]
    guess = f", which is what a {other[0]} does" if other else ""
    raise PretrainedWeightsError(
        f"{path} holds a model that maps {inputs} to {outputs}{guess}; a {role} maps "
        f"{expected}. The file holds another architecture than its name says.{fix}"
    )
