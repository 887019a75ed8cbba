"""The package graph is one-way (docs/architecture.md): a lower floor never imports a higher one.

core/ imports nothing of ours; tasks/ and connectors/ stand on it and not on each other; reports/
above them; profiles/ above reports/; heartbeat/ (loop, daemon, CLI) on top. Read from the source
with `ast`, so a circle cannot come back unnoticed, not even through an import inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"core": 0, "tasks": 1, "connectors": 1, "reports": 2, "profiles": 3, "heartbeat": 4}


def imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, inside a function or class) for every import of one of our packages."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name, id(node) not in top) for name in names
                  if name.split(".")[0] in FLOORS]
    return found


MODULES = sorted(p for package in FLOORS for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_package_imports_only_its_own_floor_and_those_below(path):
    package = path.relative_to(ROOT).parts[0]
    wrong = [f"{path.relative_to(ROOT)}:{line}: {package} imports {name}"
             for line, name, _ in imports(path)
             if (other := name.split(".")[0]) != package and FLOORS[other] >= FLOORS[package]]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_another_package_hides_in_a_function(path):
    package = path.relative_to(ROOT).parts[0]
    hidden = [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name, nested in imports(path)
              if nested and name.split(".")[0] != package]
    assert not hidden, "\n".join(hidden)


# The floors inside heartbeat/ (docs/architecture.md): its configuration at the bottom, then the
# engine (the loop and what it runs), then the verbs (services/) and operations (ops/) side by side,
# then the front doors and the composition root (cli/, web/, daemon.py, app.py), which may use one
# another. A room may import its own room and any room on a lower floor; services/ and ops/ do not
# import each other.
ROOMS = {"heartbeat": 0, "heartbeat.config": 0, "heartbeat.engine": 1, "heartbeat.services": 2,
         "heartbeat.ops": 2, "heartbeat.cli": 3, "heartbeat.web": 3, "heartbeat.daemon": 3,
         "heartbeat.app": 3, "heartbeat.__main__": 3}
TOP = 3


def room(module: str) -> str:
    """The room of a dotted module name of heartbeat/ ("heartbeat" itself for its __init__)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def room_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return room(".".join(parts[:-1] if parts[-1] == "__init__" else parts))


HEARTBEAT = sorted((ROOT / "heartbeat").rglob("*.py"))


def test_every_module_of_heartbeat_has_a_room():
    lost = [str(p.relative_to(ROOT)) for p in HEARTBEAT if room_of(p) not in ROOMS]
    assert not lost, f"modules outside the floors of heartbeat/ (add their room to ROOMS): {lost}"


def upward(path: Path, mine: str) -> list[str]:
    """The imports of `path` (a module of room `mine`) against the direction of heartbeat/'s floors."""
    return [f"{path.name}:{line}: {mine} imports {name}" for line, name, _ in imports(path)
            if name.split(".")[0] == "heartbeat" and (theirs := room(name)) != mine
            and not (ROOMS[theirs] < ROOMS[mine] or ROOMS[theirs] == ROOMS[mine] == TOP)]


@pytest.mark.parametrize("path", HEARTBEAT, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_room_of_heartbeat_imports_only_its_own_and_lower_floors(path):
    wrong = upward(path, room_of(path))
    assert not wrong, "\n".join(wrong)


def test_the_room_rule_sees_a_violation(tmp_path):
    """The engine importing a verb, and ops importing services (one floor), are both found;
    the CLI importing the web page's commands (both front doors) is not."""
    module = tmp_path / "m.py"
    module.write_text("from heartbeat.services.tasks import TaskManager\n"
                      "from heartbeat.web import commands\n")
    assert upward(module, "heartbeat.engine") == ["m.py:1: heartbeat.engine imports heartbeat.services.tasks",
                                                  "m.py:2: heartbeat.engine imports heartbeat.web"]
    assert upward(module, "heartbeat.ops") == ["m.py:1: heartbeat.ops imports heartbeat.services.tasks",
                                               "m.py:2: heartbeat.ops imports heartbeat.web"]
    assert upward(module, "heartbeat.cli") == []


def test_the_rule_sees_a_violation(tmp_path):
    """The check itself can fail: an upward import, even inside a function, is found."""
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from heartbeat.cli.main import main\n")
    assert imports(module) == [(4, "heartbeat.cli.main", True)]


def test_no_test_module_imports_another():
    tests = sorted((ROOT / "tests").glob("test_*.py"))
    wrong = [f"{path.name}:{line}: {name}" for path in tests
             for line, name, _ in _test_imports(path) if name.split(".")[-1].startswith("test_")]
    assert not wrong, "\n".join(wrong)


def _test_imports(path: Path) -> list[tuple[int, str, bool]]:
    tree = ast.parse(path.read_text())
    return [(n.lineno, n.module, False) for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("tests")]
