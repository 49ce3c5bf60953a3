"""The readers' boundaries inside bot/ (issue #13): the service, analytics, Telegram and the CLI reach a
venue only through `bot.domain.Venue` (built by bot/venues.py) and the database only through `Ledger`
methods. Nothing there imports an adapter package or SQLAlchemy / SQLModel, and no module of bot/ but
the venue factory checks a venue's name. The general layer map of bot/ is checked elsewhere; this is
the specific rule, scanned from the source (AST), so a new module is covered without a list to update.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READERS = ("bot/service", "bot/analytics", "bot/telegram", "bot/cli")  # packages
SQL_PACKAGES = ("sqlalchemy", "sqlmodel")
VENUE_FACTORY = ROOT / "bot" / "venues.py"
VENUE_NAMES = ("hyperliquid", "gmx")
# `mirrorbot localnet` starts the localnet *server* (a double of the venue, not a client a reader
# reads through): the one adapter import a reader may make, named here so it stays visible.
ALLOWED = {("bot/cli/localnet.py", "adapters.localnet.server")}


def _readers() -> list[Path]:
    return sorted(p for folder in READERS if (ROOT / folder).is_dir() for p in (ROOT / folder).rglob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden_imports(path: Path, source: str) -> list[str]:
    """The imports of `source` (the module at `path`) a reader must not make."""
    where = str(path.relative_to(ROOT))

    def allowed(name: str) -> bool:
        return any(where == module and name.startswith(allowed) for module, allowed in ALLOWED)

    def forbidden(name: str) -> bool:
        top = name.split(".")[0]
        sql = top in SQL_PACKAGES or name.endswith(".session_factory")
        return sql or (top == "adapters" and not allowed(name))

    return [name for name in sorted(_imports(ast.parse(source))) if forbidden(name)]


def venue_name_checks(source: str) -> list[str]:
    """Comparisons against a venue's name (`x == "gmx"`, `x is FollowerVenue.GMX`, `x in ("gmx", …)`)."""

    def names_a_venue(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in VENUE_NAMES
        if isinstance(node, ast.Name):  # the factory's constants, imported (or copied) under their name
            return node.id.upper() in {name.upper() for name in VENUE_NAMES}
        if isinstance(node, ast.Attribute):
            return isinstance(node.value, ast.Name) and node.value.id == "FollowerVenue"
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(names_a_venue(item) for item in node.elts)
        return False

    return [
        ast.unparse(node)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Compare) and any(names_a_venue(n) for n in [node.left, *node.comparators])
    ]


@pytest.mark.parametrize("path", _readers(), ids=lambda p: str(p.relative_to(ROOT)))
def test_readers_import_no_adapter_and_no_sql(path: Path) -> None:
    bad = forbidden_imports(path, path.read_text(encoding="utf-8"))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: use bot.venues / Venue, and Ledger methods"


@pytest.mark.parametrize(
    "path",
    [p for p in sorted((ROOT / "bot").rglob("*.py")) if p != VENUE_FACTORY],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_but_the_factory_checks_a_venue_name(path: Path) -> None:
    checks = venue_name_checks(path.read_text(encoding="utf-8"))
    assert not checks, f"{path.relative_to(ROOT)} checks a venue by name: {checks} (use its capabilities)"


def test_the_scan_sees_the_readers_and_catches_what_it_forbids() -> None:
    # Guard against checking nothing (e.g. after a move), and show each rule fails where it should.
    readers = {str(p.relative_to(ROOT)) for p in _readers()}
    expected = {
        "bot/service/service.py",
        "bot/analytics/fetch.py",
        "bot/telegram/app.py",
        "bot/cli/localnet.py",
    }
    assert expected <= readers
    service = ROOT / "bot" / "service" / "service.py"
    assert forbidden_imports(service, "from adapters.hyperliquid.info import InfoClient\n") == [
        "adapters.hyperliquid.info",
        "adapters.hyperliquid.info.InfoClient",
    ]
    assert forbidden_imports(service, "from sqlmodel import select\n") == ["sqlmodel", "sqlmodel.select"]
    assert forbidden_imports(service, "from bot.ledger.db import session_factory\n") == [
        "bot.ledger.db.session_factory"
    ]
    localnet_cli = ROOT / "bot" / "cli" / "localnet.py"
    assert forbidden_imports(localnet_cli, "from adapters.localnet.server import serve\n") == []
    assert forbidden_imports(service, "from adapters.localnet.server import serve\n") != []
    assert venue_name_checks("if on == 'gmx': pass\n") == ["on == 'gmx'"]
    assert venue_name_checks("ok = v is FollowerVenue.GMX\n") == ["v is FollowerVenue.GMX"]
    assert venue_name_checks("if on == GMX: pass\n") == ["on == GMX"]
    assert venue_name_checks("ok = not caps.agent_wallets\n") == []
