"""The Qt binding must not leak references to None (PySide6 6.12.0 on 3.11 does)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex


class _Rows(QAbstractListModel):
    def rowCount(  # noqa: N802
        self,
        parent: QModelIndex | QPersistentModelIndex = QModelIndex(),  # noqa: B008
    ) -> int:
        return 0

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        return None


def test_begin_end_insert_rows_keep_none_refcount(qapp: object) -> None:
    model = _Rows()
    root = QModelIndex()
    for _ in range(10):  # warm up caches the binding fills on first use
        model.beginInsertRows(root, 0, 0)
        model.endInsertRows()
    before = sys.getrefcount(None)
    for _ in range(1_000):
        model.beginInsertRows(root, 0, 0)
        model.endInsertRows()
    after = sys.getrefcount(None)
    # 6.12.0 + 3.11 loses 2 per pair (2,000 here) and dies in none_dealloc later.
    assert abs(after - before) < 50, f"None refcount moved by {after - before}"
