"""Name lookup shared by every catalogue (layers, initializers, losses, ...).

Each catalogue module keeps a dict of names and calls :func:`resolve` from its
own ``get``, so a string such as ``"sgd"`` is turned into an object in exactly
one place per kind, with one wording for unknown names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def resolve(
    kind: str, identifier: Any, names: Mapping[str, Callable[[], Any]], base: type | None
) -> Any:
    """Return ``identifier`` if it is already a ``base``, else build it from its name.

    Names are matched case-insensitively; an unknown name raises ValueError
    listing the valid ones, any other type raises TypeError.
    """
    if base is not None and isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        factory = names.get(identifier.lower())
        if factory is None:
            valid = ", ".join(repr(name) for name in sorted(names))
            raise ValueError(f"Unknown {kind} {identifier!r}. Expected one of: {valid}.")
        return factory()
    expected = "a callable" if base is None else f"a {base.__name__} instance"
    raise TypeError(
        f"Expected a {kind} name (str) or {expected}. "
        f"Received: {identifier!r} of type {type(identifier).__name__}."
    )
