"""``model.summary()``: the table of layers, output shapes and parameter counts, as Keras
prints it."""

from __future__ import annotations


class Summary(str):
    """The summary table as a string, whose repr in a REPL is one short line (``summary()``
    has printed the table already). In a notebook, ``model.summary()`` as a cell's last
    line shows the table once: the first display of the returned value is the print."""

    printed = True  # by summary(): its first display would show the table a second time

    def __repr__(self) -> str:
        return f"<summary of {self.splitlines()[0][7:]}>"

    def _ipython_display_(self) -> None:
        if self.printed:
            self.printed = False
            return
        print(self)


def summary_table(model) -> Summary:
    """The summary of a built (or buildable) model as text."""
    parameters = model.parameters  # builds the model if it can
    rows = [
        (f"{layer.name} ({type(layer).__name__})", str(layer.output_shape), str(layer.count_params))
        for layer in model.layers
    ]
    header = ("Layer (type)", "Output Shape", "Param #")
    widths = [max(len(row[i]) for row in [header, *rows]) + 2 for i in range(3)]

    def line(row) -> str:
        return "".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()

    rule = "=" * sum(widths)
    total, trainable = parameters.size, int(parameters.params.size)
    return Summary(
        "\n".join(
            [
                f'Model: "{model.name}" ({model.dtype.name})',
                rule,
                line(header),
                rule,
                *(line(row) for row in rows),
                rule,
                f"Total params: {total}",
                f"Trainable params: {trainable}",
                f"Non-trainable params: {total - trainable}",
            ]
        )
    )
