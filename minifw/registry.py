"""One catalogue per extensible kind (layers, losses, optimizers, initializers, regularizers,
schedules, metrics, models), one ``register`` decorator, one path from a name or a config
to an object.

A class (or, for metrics, a function) is added to its kind's catalogue where it is
defined:

    @mf.optimizers.register                 # known as "lion" (snake_case of the name)
    class Lion(mf.optimizers.Optimizer): ...

    @mf.losses.register("log_cosh")         # or under names of one's choosing
    class LogCosh(mf.losses.Loss): ...

Then ``compile(optimizer="lion")`` works, and a saved model that uses it loads again.
The catalogue is also the allow-list of what a model file may build: loading never
imports a module or runs code a file names, only registered classes (or those passed
as ``custom_objects`` to ``load_model``, Keras's spelling, through
:func:`custom_object_scope`).

Objects are stored in configs by :meth:`Catalogue.serialize`: their short name when that
rebuilds them exactly, else ``{"class_name": ..., "config": ...}``.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

_CUSTOM_OBJECTS: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "minifw_custom_objects", default=MappingProxyType({})
)


@contextlib.contextmanager
def custom_object_scope(custom_objects: Mapping[str, Any] | None) -> Iterator[None]:
    """Within the block, configs may also name the classes in ``custom_objects``
    (``{"Lion": Lion}``): what ``load_model(path, custom_objects=...)`` uses."""
    if custom_objects is not None and not isinstance(custom_objects, Mapping):
        raise TypeError(
            "`custom_objects` must be a dict of class names to classes, e.g. {'Lion': Lion}. "
            f"Received: {custom_objects!r}"
        )
    token = _CUSTOM_OBJECTS.set({**_CUSTOM_OBJECTS.get(), **(custom_objects or {})})
    try:
        yield
    finally:
        _CUSTOM_OBJECTS.reset(token)


def snake_case(name: str) -> str:
    """``Lion`` → ``lion``, ``LogCosh`` → ``log_cosh``, ``Conv2D`` → ``conv2d`` (Keras's rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Catalogue:
    """The classes (or functions) of one kind, by class name and by short names.

    Parameters
    ----------
    kind : str
        What the entries are, for messages ("optimizer").
    base : type, optional
        What an instance must be to be used as it is (``Optimizer``); None for functions.
    decorator : str
        The public name of ``register``, for messages ("mf.optimizers.register").

    Examples
    --------
    >>> class Shape: ...
    >>> shapes = Catalogue("shape", Shape, decorator="shapes.register")
    >>> @shapes.register("sq")
    ... class Square(Shape):
    ...     def __init__(self, side=1):
    ...         self.side = side
    ...     def get_config(self):
    ...         return {"side": self.side}
    >>> shapes.get({"class_name": "Square", "config": {"side": 2}}).side
    2
    >>> shapes.get("sq").side, shapes.serialize(Square()), shapes.serialize(Square(3))
    (1, 'sq', {'class_name': 'Square', 'config': {'side': 3}})
    """

    def __init__(self, kind: str, base: type | None = None, *, decorator: str) -> None:
        self.kind, self.base, self.decorator = kind, base, decorator
        self.classes: dict[str, Any] = {}
        self.names: dict[str, Any] = {}

    # -- adding --------------------------------------------------------------------------

    def register(self, *names: Any) -> Any:
        """Add a class under its own name and under ``names`` (by default its snake_case
        name). Used bare (``@register``), called (``@register()``) or with names
        (``@register("log_cosh")``); returns the class unchanged."""
        if len(names) == 1 and callable(names[0]) and not isinstance(names[0], str):
            return self._add(names[0], ())
        for name in names:
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"{self.decorator}: names must be non-empty strings. Received: {name!r}"
                )
        return lambda entry: self._add(entry, names)

    def _add(self, entry: Any, names: tuple[str, ...]) -> Any:
        """Refuses a class name or short name that another entry holds; the same class
        defined again (a notebook cell run twice) replaces its earlier self."""
        names = tuple(name.lower() for name in names or (snake_case(entry.__name__),))
        held = self.classes.get(entry.__name__)
        if held is not None and not _same_definition(held, entry):
            raise ValueError(
                f"{self.decorator}: a class named {entry.__name__} is already registered "
                f"({held.__module__}.{held.__qualname__}); files name classes by their name, "
                "so give yours another."
            )
        for name in names:
            held = self.names.get(name)
            if held is not None and not _same_definition(held, entry):
                raise ValueError(
                    f"{self.decorator}: {name!r} is already the name of "
                    f"{held.__module__}.{held.__qualname__}; register "
                    f"{entry.__module__}.{entry.__qualname__} under another name, e.g. "
                    f"@{self.decorator}('my_{snake_case(entry.__name__)}')."
                )
        self.classes[entry.__name__] = entry
        for name in names:
            self.names[name] = entry
        return entry

    # -- finding -------------------------------------------------------------------------

    def by_class_name(self, class_name: object) -> Any:
        """The registered (or custom) entry called ``class_name``; ValueError naming the
        decorator otherwise."""
        found = None
        if isinstance(class_name, str):
            custom = _CUSTOM_OBJECTS.get().get(class_name)
            fits = custom is not None and (self.base is None or _is_subclass(custom, self.base))
            found = custom if fits else self.classes.get(class_name)
        if found is None or (self.base is not None and not _is_subclass(found, self.base)):
            valid = ", ".join(sorted(self.classes))
            raise ValueError(
                f"Unknown {self.kind} type {class_name!r}. Expected one of: {valid}. A class of "
                f"your own must be registered with @{self.decorator} (or given to load_model "
                "as custom_objects)."
            )
        return found

    def get(self, identifier: Any, *, base: type | None = None, kind: str | None = None) -> Any:
        """An object from an instance (returned as it is), a name (case-insensitive), or a
        config ``{"class_name": ..., "config": {...}}``. ValueError for an unknown name or
        class, TypeError for anything else. ``base`` and ``kind`` narrow the catalogue to
        a part of it (the activations among the layers)."""
        if base is not None:
            narrowed = Catalogue(kind or self.kind, base, decorator=self.decorator)
            narrowed.classes, narrowed.names = self.classes, self.names
            return narrowed.get(identifier)
        if self.base is not None and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            entry = self.names.get(identifier.lower())
            if entry is None or (self.base is not None and not _is_subclass(entry, self.base)):
                valid = ", ".join(repr(name) for name in sorted(self._short_names()))
                raise ValueError(f"Unknown {self.kind} {identifier!r}. Expected one of: {valid}.")
            return entry() if self.base is not None else entry
        if isinstance(identifier, dict) and self.base is not None:
            cls = self.by_class_name(identifier.get("class_name"))
            config = identifier.get("config", {})
            if not isinstance(config, dict):
                raise ValueError(
                    f"The config of {_a(self.kind)} must be a dict. Received: {config!r}"
                )
            from_config = getattr(cls, "from_config", None)
            return from_config(config) if from_config is not None else cls(**config)
        expected = "a callable" if self.base is None else f"{_a(self.base.__name__)} instance"
        if self.base is not None and _is_subclass(identifier, self.base):
            raise TypeError(
                f"Expected {_a(self.kind)} name (str) or {expected}. Received the class "
                f"{identifier.__name__} itself: give an instance, e.g. {identifier.__name__}()."
            )
        raise TypeError(
            f"Expected {_a(self.kind)} name (str) or {expected}. "
            f"Received: {identifier!r} of type {type(identifier).__name__}."
        )

    def _short_names(self) -> list[str]:
        return [
            name
            for name, entry in self.names.items()
            if self.base is None or _is_subclass(entry, self.base)
        ]

    # -- storing -------------------------------------------------------------------------

    def name_of(self, entry: Any) -> str | None:
        """A short name under which ``entry`` (a class or function) is registered, if any."""
        return next((name for name, known in self.names.items() if known is entry), None)

    def serialize(self, obj: Any) -> str | dict | None:
        """The short name of ``obj`` when that rebuilds it exactly, else a config dict."""
        if obj is None:
            return None
        config = obj.get_config()
        for name, cls in self.names.items():
            if type(obj) is cls and _default_config(cls) == config:
                return name
        return {"class_name": type(obj).__name__, "config": config}

    def check_registered(self, obj: Any) -> None:
        """Raise TypeError unless the catalogue rebuilds ``obj``'s class from its name:
        what ``save`` asks of everything it writes."""
        entry = obj if isinstance(obj, type) or inspect.isfunction(obj) else type(obj)
        if self.classes.get(entry.__name__) is not entry:
            raise TypeError(
                f"{entry.__name__} is not registered, so a saved model could not be loaded: "
                f"decorate the class with @{self.decorator}. Nothing was written."
            )


def _same_definition(held: Any, entry: Any) -> bool:
    """The same class, or the same class defined again (same module and qualified name)."""
    return held is entry or (
        held.__module__ == entry.__module__ and held.__qualname__ == entry.__qualname__
    )


def _a(word: str) -> str:
    """``word`` with its indefinite article: "an optimizer", "a loss"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _is_subclass(entry: Any, base: type) -> bool:
    return isinstance(entry, type) and issubclass(entry, base)


def _default_config(cls: type) -> dict | None:
    try:
        return cls().get_config()
    except (TypeError, ValueError):  # a class that needs arguments has no default
        return None


#: Model classes a model file may name (``Sequential``).
MODELS = Catalogue("model", decorator="mf.registry.MODELS.register")
