"""Import layering (ARCHITECTURE.md, "Layers and their rules"), backing ruff's TID251.

- ``desktop/core`` never imports PySide6, qasync or pyqtgraph, nor ``desktop.ui``;
  ``desktop/tail.py``, ``desktop/cli.py`` and ``desktop/__init__.py`` not at
  module level (the CLI imports the GUI lazily).
- ``desktop/core/engine`` imports nothing else of ``desktop.core``.
- A feature folder of the app (``desktop/ui/<feature>/``) imports core, the
  shell's modules at the top of ``desktop/ui`` and its own folder, never another
  feature's modules; features meet only through the shell (its Protocols, such as
  ``window_api``), so no import circle can form between them.
- ``server`` never imports ``desktop``; ``desktop`` imports ``server`` only in
  ``cli.py``.
- No product module (``desktop``, ``server``) is over 500 lines: past that a
  module holds more than one noun (tests and benchmarks are exempt).
- No import circles among the modules of ``desktop`` and ``server``, counting
  ``TYPE_CHECKING`` and function-level imports too (a helper types the window
  it serves against a Protocol rather than importing the window's module).

Checked twice: statically with ``ast`` (every import form, relative ones resolved),
and at run time by importing the modules in a fresh interpreter and looking at
``sys.modules``, which also catches imports made indirectly.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "qasync", "pyqtgraph")


class _Imports(ast.NodeVisitor):
    """Collect (module, line, at_module_level) for every import in a module."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.found: list[tuple[str, int, bool]] = []
        self._depth = 0

    def _add(self, name: str, node: ast.AST) -> None:
        self.found.append((name, getattr(node, "lineno", 0), self._depth == 0))

    def _scope(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = _scope  # noqa: N815 - ast.NodeVisitor's naming
    visit_AsyncFunctionDef = _scope  # noqa: N815
    visit_Lambda = _scope  # noqa: N815

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            base = parts[: len(parts) - node.level + 1]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        self._add(module, node)
        for alias in node.names:  # from desktop import ui
            self._add(f"{module}.{alias.name}", node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = (
            func.attr
            if isinstance(func, ast.Attribute)
            else func.id
            if isinstance(func, ast.Name)
            else ""
        )
        if (
            name in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            self._add(node.args[0].value, node)
        self.generic_visit(node)


def imports_of(source: str, package: str) -> list[tuple[str, int, bool]]:
    visitor = _Imports(package)
    visitor.visit(ast.parse(source))
    return visitor.found


def _package_of(path: Path) -> str:
    """The package relative imports in ``path`` resolve against."""
    return ".".join(path.relative_to(ROOT).parent.parts)


def _hits(module: str, banned: tuple[str, ...]) -> bool:
    return any(module == b or module.startswith(b + ".") for b in banned)


def violations(
    paths: list[Path], banned: tuple[str, ...], *, module_level_only: bool
) -> list[str]:
    out = []
    for path in paths:
        for module, line, top in imports_of(path.read_text(), _package_of(path)):
            if _hits(module, banned) and (top or not module_level_only):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def py_files(*parts: str) -> list[Path]:
    base = ROOT.joinpath(*parts)
    return sorted(base.rglob("*.py")) if base.is_dir() else [base]


# -- the scanner itself can see each form --------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import PySide6",
        "import PySide6.QtCore",
        "import qasync as q",
        "from PySide6.QtWidgets import QApplication",
        "from pyqtgraph import PlotWidget",
        "import os, qasync",
        "if True:\n    import PySide6",
        "try:\n    import qasync\nexcept ImportError:\n    pass",
        "class A:\n    import pyqtgraph",
        "import importlib\nimportlib.import_module('PySide6.QtGui')",
        "__import__('qasync')",
    ],
)
def test_scanner_sees_module_level_imports(source: str) -> None:
    found = imports_of(source, "desktop.core")
    assert any(_hits(m, QT) and top for m, _, top in found), found


def test_scanner_tells_function_level_imports_apart() -> None:
    source = "def f():\n    import PySide6\nasync def g():\n    from qasync import x\n"
    found = [(m, top) for m, _, top in imports_of(source, "desktop")]
    assert ("PySide6", False) in found
    assert ("qasync", False) in found
    assert not any(top for _, top in found)


def test_scanner_resolves_relative_imports() -> None:
    found = {
        m
        for m, _, _ in imports_of(
            "from .. import ui\nfrom ..ui.app import run", "desktop.core"
        )
    }
    assert "desktop.ui" in found
    assert "desktop.ui.app" in found


def test_scanner_ignores_lookalikes() -> None:
    found = imports_of("import PySide6x\nimport qasyncio\nimport desktopish", "server")
    assert not any(_hits(m, (*QT, "desktop")) for m, _, _ in found)


# -- the rules -----------------------------------------------------------------


def test_the_layers_exist() -> None:
    core = {p.name for p in py_files("desktop", "core")}
    assert {"__init__.py", "decoder.py", "records.py", "stream.py"} <= core
    assert (ROOT / "desktop" / "tail.py").exists()
    assert (ROOT / "desktop" / "cli.py").exists()
    assert (ROOT / "server" / "__init__.py").exists()


def test_engine_imports_nothing_else_of_core() -> None:
    engine = py_files("desktop", "core", "engine")
    assert len(engine) > 5
    out = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in engine
        for module, line, _ in imports_of(path.read_text(), _package_of(path))
        if _hits(module, ("desktop",)) and not _hits(module, ("desktop.core.engine",))
    ]
    assert out == []


def features() -> list[str]:
    """The app's feature folders: the packages below ``desktop/ui``."""
    return sorted(
        p.parent.name for p in (ROOT / "desktop" / "ui").glob("*/__init__.py")
    )


def feature_violations(paths: list[Path], names: list[str]) -> list[str]:
    """Imports from a feature folder into another feature folder."""
    out = []
    for path in paths:
        own = path.relative_to(ROOT / "desktop" / "ui").parts[0]
        others = tuple(f"desktop.ui.{name}" for name in names if name != own)
        for module, line, _ in imports_of(path.read_text(), _package_of(path)):
            if _hits(module, others):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def test_feature_rule_sees_a_crossing() -> None:
    path = ROOT / "desktop" / "ui" / "raw" / "view.py"
    assert feature_violations([path], ["raw", "lab"]) == []
    source = "from desktop.ui.lab.panel import LabPanel\nfrom ..lab import dock\n"
    found = [
        m
        for m, _, _ in imports_of(source, "desktop.ui.raw")
        if _hits(m, ("desktop.ui.lab",))
    ]
    assert {"desktop.ui.lab.panel", "desktop.ui.lab.dock"} <= set(found)


def test_features_never_import_each_other() -> None:
    names = features()
    assert {"raw", "lab", "timeline", "jobs"} <= set(names)
    paths = [p for name in names for p in py_files("desktop", "ui", name)]
    assert feature_violations(paths, names) == []


LINE_LIMIT = 500


def test_no_product_module_is_over_the_line_limit() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in py_files("desktop") + py_files("server")
        if (n := len(path.read_text().splitlines())) > LINE_LIMIT
    }
    assert long == {}, f"split these by noun (limit {LINE_LIMIT} lines): {long}"


def test_core_never_imports_qt_or_ui() -> None:
    assert (
        violations(
            py_files("desktop", "core"), (*QT, "desktop.ui"), module_level_only=False
        )
        == []
    )


def test_package_tail_and_cli_import_no_qt_at_module_level() -> None:
    paths = [ROOT / "desktop" / name for name in ("__init__.py", "tail.py", "cli.py")]
    assert violations(paths, (*QT, "desktop.ui"), module_level_only=True) == []


def test_tail_never_imports_qt_or_ui() -> None:
    paths = [ROOT / "desktop" / name for name in ("tail.py", "tail_output.py")]
    assert violations(paths, (*QT, "desktop.ui"), module_level_only=False) == []


def test_server_never_imports_desktop() -> None:
    assert violations(py_files("server"), ("desktop",), module_level_only=False) == []


def test_desktop_imports_server_only_in_cli() -> None:
    paths = [p for p in py_files("desktop") if p != ROOT / "desktop" / "cli.py"]
    assert violations(paths, ("server",), module_level_only=False) == []


def test_cli_imports_server_only_lazily() -> None:
    paths = [ROOT / "desktop" / "cli.py"]
    assert violations(paths, ("server",), module_level_only=True) == []


def test_product_code_presses_no_buttons() -> None:
    """Menus and the app ask a view for an intent (``view.connect_stream()``) rather
    than clicking a widget that belongs to another one; tests may click, as a user."""
    pressed = []
    for path in py_files("desktop"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("click", "animateClick")
            ):
                pressed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert pressed == []


def test_theme_depends_on_no_feature() -> None:
    """The look (colours, icons, the state keys QSS selects on) is shell: it may use
    the engine's words (``State``) but no feature or session module of the UI."""
    path = ROOT / "desktop" / "ui" / "theme.py"
    found = imports_of(path.read_text(), _package_of(path))
    ours = {m for m, _, _ in found if _hits(m, ("desktop",)) and m != "desktop"}
    assert {m for m in ours if not _hits(m, ("desktop.core",))} == set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(paths: list[Path]) -> dict[str, set[str]]:
    """Module -> the modules among ``paths`` it imports, in any scope."""
    names = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        found = imports_of(path.read_text(), _package_of(path))
        graph[name] = {m for m, _, _ in found if m in names and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_cycle_finder_sees_type_checking_and_indirect_circles() -> None:
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a"},  # a -> b -> c -> a
        "d": {"a"},  # depends on the circle, is not in it
        "e": set(),
    }
    assert cycles(graph) == [["a", "b", "c"]]
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import x\n"
    )
    assert "desktop.ui.x" in {m for m, _, _ in imports_of(source, "desktop.ui")}


def test_no_import_circles() -> None:
    graph = import_graph(py_files("desktop") + py_files("server"))
    assert "desktop.ui.main_window" in graph
    assert cycles(graph) == []


# -- at run time ---------------------------------------------------------------

_PROBE = """
import importlib, json, pkgutil, sys
import desktop.core
names = ["desktop", "desktop.core"] + [
    m.name for m in pkgutil.walk_packages(desktop.core.__path__, "desktop.core.")
]
names += ["desktop.tail", "desktop.tail_output", "desktop.cli"]
for name in names:
    importlib.import_module(name)
{extra}
loaded = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("PySide6", "qasync", "pyqtgraph", "shiboken6", "server")
    or m == "desktop.ui" or m.startswith("desktop.ui.")
)
print(json.dumps({{"imported": names, "loaded": loaded}}))
"""


def _probe(extra: str = "") -> dict[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(extra=extra)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, list[str]] = json.loads(proc.stdout.splitlines()[-1])
    return result


def test_importing_core_tail_and_cli_loads_no_qt_ui_or_server() -> None:
    result = _probe()
    assert "desktop.core.engine.stream" in result["imported"]
    assert "desktop.core.engine.decoder" in result["imported"]
    assert result["loaded"] == []


def test_tail_command_loads_no_qt() -> None:
    extra = """
import contextlib, io
from desktop.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["tail", "--help"])
"""
    assert _probe(extra)["loaded"] == []
