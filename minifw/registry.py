"""Name lookup shared by every catalogue (layers, activations, initializers, losses, ...).

Each catalogue module keeps a dict of names and calls :func:`resolve` from its
own ``get``, so a string such as ``"sgd"`` is turned into an object in exactly
one place per kind, with one wording for unknown names. Objects are stored in
configs by :func:`serialize`: their name when that rebuilds them exactly, else
``{"class_name": ..., "config": ...}``.

Classes that configs may name (layers, models) are kept in a :class:`Catalogue`
and added to it by its ``register`` decorator where they are defined: the
catalogue is the allow-list of what a model file can instantiate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class Catalogue:
    """Classes of one kind by class name, and by short names (``"relu"``) where given.

    Examples
    --------
    >>> shapes = Catalogue("shape")
    >>> @shapes.register("sq")
    ... class Square:
    ...     def __init__(self, side=1):
    ...         self.side = side
    >>> shapes.deserialize({"class_name": "Square", "config": {"side": 2}}).side
    2
    >>> shapes.names["sq"] is Square
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.classes: dict[str, type] = {}
        self.names: dict[str, type] = {}

    def register(self, *names: str) -> Callable[[type], type]:
        """Class decorator: add the class under its own name and under each of ``names``."""

        def add(cls: type) -> type:
            self.classes[cls.__name__] = cls
            for name in names:
                self.names[name] = cls
            return cls

        return add

    def deserialize(self, config: object) -> Any:
        """An instance from ``{"class_name": ..., "config": {...}}``; only registered classes."""
        if not isinstance(config, dict):
            raise ValueError(f"A {self.kind} config must be a dict. Received: {config!r}")
        cls = self.classes.get(config.get("class_name"))
        if cls is None:
            valid = ", ".join(sorted(self.classes))
            raise ValueError(
                f"Unknown {self.kind} type {config.get('class_name')!r}. Expected one of: {valid}."
            )
        arguments = config.get("config", {})
        if not isinstance(arguments, dict):
            raise ValueError(f"The config of a {self.kind} must be a dict. Received: {arguments!r}")
        from_config = getattr(cls, "from_config", None)
        return from_config(arguments) if from_config is not None else cls(**arguments)


def resolve(
    kind: str,
    identifier: Any,
    names: Mapping[str, Callable[..., Any]],
    base: type | None,
) -> Any:
    """Return ``identifier`` if it is already a ``base``, else build it from its name or config.

    Names are matched case-insensitively; a config dict must name one of the
    classes in ``names``. An unknown name raises ValueError listing the valid
    ones, any other type raises TypeError.
    """
    if base is not None and isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        factory = names.get(identifier.lower())
        if factory is None:
            valid = ", ".join(repr(name) for name in sorted(names))
            raise ValueError(f"Unknown {kind} {identifier!r}. Expected one of: {valid}.")
        return factory()
    if isinstance(identifier, dict) and base is not None:
        classes = {cls.__name__: cls for cls in names.values() if isinstance(cls, type)}
        cls = classes.get(identifier.get("class_name"))
        if cls is None:
            valid = ", ".join(repr(name) for name in sorted(classes))
            raise ValueError(
                f"Unknown {kind} class {identifier.get('class_name')!r}. Expected one of: {valid}."
            )
        config = identifier.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"The config of a {kind} must be a dict. Received: {config!r}")
        return cls(**config)
    expected = "a callable" if base is None else f"a {base.__name__} instance"
    raise TypeError(
        f"Expected a {kind} name (str) or {expected}. "
        f"Received: {identifier!r} of type {type(identifier).__name__}."
    )


def serialize(obj: Any, names: Mapping[str, type]) -> str | dict | None:
    """The registered name of ``obj`` when that rebuilds it exactly, else a config dict."""
    if obj is None:
        return None
    config = obj.get_config()
    for name, cls in names.items():
        if type(obj) is cls and config == cls().get_config():
            return name
    return {"class_name": type(obj).__name__, "config": config}


#: Model classes a model file may name (``Sequential``).
MODELS = Catalogue("model")
