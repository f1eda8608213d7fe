"""A form generated from a job kind's parameters (their JSON Schema)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

if TYPE_CHECKING:
    from desktop.core.jobs import Param

_INT32 = 2**31 - 1


class SchemaForm(QWidget):
    """An editor per parameter, bounded as its schema says; read by :meth:`values`."""

    def __init__(
        self, params: tuple[Param, ...], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("schemaForm")
        self.params = params
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for param in params:
            editor = _editor(param)
            editor.setObjectName(f"param_{param.name}")
            editor.setToolTip(param.description)
            self.editors[param.name] = editor
            layout.addRow(param.title, editor)

    def values(self) -> dict[str, object]:
        """Parameters to send; raises ValueError for a JSON field that won't parse."""
        values: dict[str, object] = {}
        for param in self.params:
            editor = self.editors[param.name]
            if isinstance(editor, QCheckBox):
                values[param.name] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                values[param.name] = editor.currentText()
            elif isinstance(editor, QSpinBox):
                values[param.name] = editor.value()
            elif isinstance(editor, QDoubleSpinBox):
                number = editor.value()
                values[param.name] = (
                    round(number) if param.type == "integer" else number
                )
            elif isinstance(editor, QLineEdit):
                text = editor.text()
                if param.type == "json":
                    if text.strip():
                        values[param.name] = json.loads(text)
                else:
                    values[param.name] = text
        return values

    def set_value(self, name: str, value: object) -> None:
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QSpinBox) and isinstance(value, int | float):
            editor.setValue(int(value))
        elif isinstance(editor, QDoubleSpinBox) and isinstance(value, int | float):
            editor.setValue(float(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(value if isinstance(value, str) else json.dumps(value))


def _editor(param: Param) -> QWidget:
    default = param.default
    if param.type == "boolean":
        box = QCheckBox()
        box.setChecked(default is True)
        return box
    if param.type == "enum":
        combo = QComboBox()
        combo.addItems(list(param.choices))
        if default is not None:
            combo.setCurrentText(str(default))
        return combo
    if param.type in ("integer", "number"):
        return _number(param)
    line = QLineEdit()
    if param.max_length is not None:
        line.setMaxLength(param.max_length)
    if param.type == "json":
        line.setPlaceholderText("JSON")
        line.setText("" if default is None else json.dumps(default))
    else:
        line.setText("" if default is None else str(default))
    return line


def _number(param: Param) -> QWidget:
    low = param.minimum if param.minimum is not None else -1e15
    high = param.maximum if param.maximum is not None else 1e15
    default = param.default if isinstance(param.default, int | float) else low
    if param.type == "integer" and low >= -_INT32 and high <= _INT32:
        spin = QSpinBox()
        spin.setRange(int(low), int(high))
        spin.setValue(int(default))
        return spin
    double = QDoubleSpinBox()
    double.setDecimals(0 if param.type == "integer" else 3)
    double.setRange(low, high)
    double.setValue(float(default))
    return double
