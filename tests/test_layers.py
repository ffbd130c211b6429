"""The layering in docs/architecture.md holds: no module imports a layer above its own."""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage import Storage
from bot.storage.engine import Database

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# python-telegram-bot's Application side, which only the layers that run it may use.
TELEGRAM_EXT_LAYERS = {"entry", "preview", "server", "handlers"}
# Layers that import nothing of python-telegram-bot: they are plain Python about content,
# data and settings.
NO_TELEGRAM_LAYERS = {"campaign", "storage", "foundation"}


@dataclass(frozen=True)
class Layer:
    """One row of the table in docs/architecture.md."""

    name: str
    modules: tuple[str, ...]
    may_import: frozenset[str]


def read_layers(document: Path) -> list[Layer]:
    """Read the layer table under "## Layers" in the architecture document."""
    text = document.read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        modules = tuple(re.findall(r"`([\w.]+)`", cells[1]))
        allowed = {name.strip() for name in cells[2].split(",")}
        layers.append(Layer(cells[0], modules, frozenset(allowed | {cells[0]})))
    return layers


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of a source file under root (a package is its __init__)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Return every module a source file imports, at any depth (lazy imports too)."""
    found: set[str] = set()
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot import texts` imports the module bot.texts; `from bot.storage import
            # Storage` imports the package bot.storage.
            for alias in node.names:
                candidate = root.joinpath(*base.split("."), alias.name)
                if candidate.with_suffix(".py").exists() or candidate.is_dir():
                    found.add(f"{base}.{alias.name}")
                else:
                    found.add(base)
    return found


def layer_of(module: str, layers: list[Layer]) -> Layer | None:
    """Return the layer a module belongs to: the row naming it, or naming its package."""
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for name in layer.modules:
            # `bot` is the package's own __init__ only, not everything under it.
            inside = name != "bot" and module.startswith(name + ".")
            if (module == name or inside) and (best is None or len(name) > best[0]):
                best = (len(name), layer)
    return best[1] if best else None


def layering_problems(root: Path, layers: list[Layer]) -> list[str]:
    """Return one line per module in no layer and per import the layers do not allow."""
    problems = []
    for path in sorted((root / "bot").rglob("*.py")):
        module = module_name(path, root)
        layer = layer_of(module, layers)
        where = path.relative_to(root)
        if layer is None:
            problems.append(f"{where}: {module} is in no layer of docs/architecture.md")
            continue
        for imported in sorted(imports_of(path, root)):
            target = layer_of(imported, layers) if imported.split(".")[0] == "bot" else None
            if target is not None and target.name not in layer.may_import:
                problems.append(
                    f"{where}: {layer.name} imports {imported} ({target.name}),"
                    f" allowed: {', '.join(sorted(layer.may_import))}"
                )
            if imported.split(".")[0] == "telegram" and layer.name in NO_TELEGRAM_LAYERS:
                problems.append(f"{where}: {layer.name} imports {imported}: no Telegram here")
            elif imported.startswith("telegram.ext") and layer.name not in TELEGRAM_EXT_LAYERS:
                problems.append(f"{where}: {layer.name} imports {imported}: no Application here")
            if imported == "bot.storage.models" and not module.startswith("bot.storage"):
                problems.append(f"{where}: imports the ORM models, private to bot.storage")
    return problems


@pytest.fixture(scope="module")
def layers() -> list[Layer]:
    """The layer table, as docs/architecture.md writes it."""
    return read_layers(ARCHITECTURE)


def test_the_table_names_every_layer_it_allows(layers: list[Layer]) -> None:
    """Each layer may import only layers the table defines, so a typo cannot widen a rule."""
    names = {layer.name for layer in layers}
    assert names >= {"entry", "server", "handlers", "delivery", "campaign", "storage"}
    for layer in layers:
        assert layer.may_import <= names, layer


def test_no_module_imports_a_layer_above_it(layers: list[Layer]) -> None:
    """Every module of bot/ is in a layer and imports only what its layer may."""
    assert layering_problems(ROOT, layers) == []


def test_the_check_catches_an_upward_import(tmp_path: Path, layers: list[Layer]) -> None:
    """A storage module importing a handler, or a campaign module importing telegram.ext, is
    reported, and so is a module in no layer."""
    files = {
        "bot/__init__.py": "",
        "bot/storage/__init__.py": "",
        "bot/storage/rows.py": "from bot.handlers import public\n",
        "bot/campaign/__init__.py": "",
        "bot/campaign/page.py": "def f():\n    from telegram.ext import Application\n",
        "bot/handlers/__init__.py": "",
        "bot/handlers/public.py": "from bot.storage.models import Subscription\n",
        "bot/handlers/ok.py": "from bot.storage import rows\nfrom bot import texts\n",
        "bot/texts.py": "",
        "bot/gadgets/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    problems = layering_problems(tmp_path, layers)

    assert problems == [
        "bot/campaign/page.py: campaign imports telegram.ext: no Telegram here",
        "bot/gadgets/__init__.py: bot.gadgets is in no layer of docs/architecture.md",
        "bot/handlers/public.py: imports the ORM models, private to bot.storage",
        "bot/storage/rows.py: storage imports bot.handlers.public (handlers), allowed:"
        " foundation, storage",
    ]


def test_storage_parts_do_not_share_method_names() -> None:
    """No two parts of Storage define one method name: the first in the MRO would silently
    hide the other."""
    seen: dict[str, str] = {}
    clashes = []
    for part in Storage.__mro__:
        if part in (Storage, object) or not issubclass(part, Database) or part is Database:
            continue
        for name, _member in inspect.getmembers(part, inspect.isfunction):
            if name in vars(part):
                if name in seen and name not in vars(Database):
                    clashes.append(f"{name}: {seen[name]} and {part.__name__}")
                seen[name] = part.__name__
    assert len(seen) > 40  # every part was looked at
    assert clashes == []


def test_storage_modules_stay_small() -> None:
    """No storage module is over 500 lines and no class in it over 300, so that the next
    table gets a module of its own instead of growing one."""
    sizes = []
    for path in sorted((ROOT / "bot" / "storage").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        sizes.append((path.name, len(text.splitlines())))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                assert length <= 300, f"{path.name}: class {node.name} is {length} lines"
    assert len(sizes) >= 8
    assert max(lines for _name, lines in sizes) <= 500, sizes
