"""The teaching tools' matplotlib figures, which show themselves in a notebook.

A ``matplotlib.figure.Figure`` made without pyplot shows in Jupyter only as
"<Figure size …>" until ``%matplotlib inline`` runs. ``new_figure`` makes one that
also answers IPython's ``_repr_png_``, so ``step.plot()`` or ``run.plot()`` as a
cell's last line draws the picture; no backend is chosen or changed.
"""

from __future__ import annotations

import io

__all__ = ["new_figure"]

_SHOWN = None  # the Figure subclass, made on first use (matplotlib is optional)


def new_figure(**options):
    """``matplotlib.figure.Figure(**options)`` that shows itself as a PNG in a notebook;
    ImportError naming the extra without matplotlib."""
    global _SHOWN
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "This plot needs matplotlib: pip install 'minifw[plot]' (or pip install matplotlib)."
        ) from None
    if _SHOWN is None:

        class ShownFigure(Figure):
            """A Figure with ``_repr_png_``: IPython draws it as an image."""

            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
                return buffer.getvalue()

        _SHOWN = ShownFigure
    return _SHOWN(**options)
