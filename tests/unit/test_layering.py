"""The house boundaries: strategies/ is pure; adapters/ reach into bot/ only through bot.domain; inside
bot/ the layer map of tests/unit/layers.py holds (readers reach venues through the venue factory and
the database through `Ledger`; only the factory names a venue); no import circle anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit import layers
from tests.unit.layers import ROOT

_imports = layers.imports
_modules = layers.modules


@pytest.mark.parametrize("path", _modules("strategies"), ids=lambda p: str(p.relative_to(ROOT)))
def test_strategies_import_neither_bot_nor_adapters_nor_io(path: Path) -> None:
    forbidden = (
        "bot",
        "adapters",
        "httpx",
        "aiohttp",
        "sqlmodel",
        "sqlalchemy",
        "time",
        "datetime",
        "random",
    )
    bad = {name for name in _imports(path) if name.split(".")[0] in forbidden}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _modules("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_use_only_bot_domain(path: Path) -> None:
    bad = {name for name in _imports(path) if not layers.adapter_may_import(name)}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_adapters_may_import_the_domain_package_and_nothing_else_of_bot() -> None:
    allowed = ("bot.domain", "bot.domain.accounting", "httpx", "strategies.num")
    assert all(layers.adapter_may_import(name) for name in allowed)
    refused = ("bot", "bot.faults", "bot.domains", "bot.pipeline.copier", "bot.domainx.accounting")
    assert not any(layers.adapter_may_import(name) for name in refused)


def test_layering_scan_sees_the_packages() -> None:
    # Guard against the scan silently checking nothing (e.g. after a move).
    assert (ROOT / "strategies" / "__init__.py") in _modules("strategies")
    assert (ROOT / "adapters" / "__init__.py") in _modules("adapters")
    readers = {"bot.service.service", "bot.analytics.fetch", "bot.telegram.app", "bot.cli", "bot.venues"}
    assert readers <= GRAPH.keys()


# --- inside bot/: the layer map (tests/unit/layers.py) ---
GRAPH = layers.graph()


def test_every_module_of_bot_has_a_place_in_the_map() -> None:
    unplaced = sorted(m for m in GRAPH if m.split(".")[0] == "bot" and layers.place(m) is None)
    assert not unplaced, f"add these to layers.LAYERS: {unplaced}"


def test_no_module_of_bot_is_longer_than_a_sitting() -> None:
    long = layers.oversized()
    assert long == {}, f"split these by job (at most {layers.MAX_LINES} lines each): {long}"


def test_a_long_module_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "short.py").write_text("x = 1\n" * layers.MAX_LINES)
    (tmp_path / "bot" / "long.py").write_text("x = 1\n" * (layers.MAX_LINES + 1))
    assert layers.oversized(tmp_path) == {"bot.long": layers.MAX_LINES + 1}


def test_bot_obeys_the_layer_map_apart_from_the_known_exceptions() -> None:
    found = layers.violations(GRAPH)
    new = {edge: why for edge, why in found.items() if edge not in layers.KNOWN}
    assert not new, "forbidden imports:\n" + "\n".join(f"{a} -> {b}: {why}" for (a, b), why in new.items())


def test_known_exceptions_still_happen() -> None:
    # The allow-list only shrinks: an exception the code no longer needs is removed from it.
    found = layers.violations(GRAPH)
    gone = sorted(edge for edge in layers.KNOWN if edge not in found)
    assert not gone, f"fixed, remove from layers.KNOWN: {gone}"
    assert all(layers.KNOWN.values()), "every known exception says why"


def test_no_module_but_the_venue_factory_names_a_venue() -> None:
    found = layers.venue_namers()
    assert not found, "checks a venue by name (ask its capabilities):\n" + "\n".join(
        f"{module}: {checks}" for module, checks in found.items()
    )


def test_no_import_circle_apart_from_the_known_ones() -> None:
    found = set(layers.cycles(GRAPH))
    assert found - layers.KNOWN_CYCLES.keys() == set(), f"import circles: {[sorted(c) for c in found]}"
    gone = [sorted(c) for c in layers.KNOWN_CYCLES if c not in found]
    assert not gone, f"fixed, remove from layers.KNOWN_CYCLES: {gone}"


# --- the checker itself reports what it should (a scan that finds nothing proves nothing) ---
def _fake_tree(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return layers.graph(tmp_path, ("bot", "adapters"))


@pytest.mark.parametrize(
    ("importer", "text", "edge"),
    [
        ("bot/ledger/repository.py", "from bot.pipeline.copier import Copier\n", "bot.pipeline.copier"),
        ("bot/domain.py", "def f():\n    import bot.service.service\n", "bot.service.service"),
        ("bot/service/views.py", "from bot.telegram import app\n", "bot.telegram.app"),
        ("bot/risk/guards.py", "from bot.ledger import Ledger\n", "bot.ledger"),  # a sibling of its layer
        (
            "bot/telegram/app.py",
            "from adapters.hyperliquid.info import InfoClient\n",
            "adapters.hyperliquid.info",
        ),
        ("bot/service/runner_health.py", "from sqlalchemy import text\n", "sqlalchemy"),
        ("bot/service/service.py", "from sqlmodel import select\n", "sqlmodel"),
        (
            "bot/service/service.py",
            "from bot.ledger.db import session_factory\n",
            "bot.ledger.db.session_factory",
        ),
        (
            "bot/service/service.py",
            "from adapters.hyperliquid.info import InfoClient\n",
            "adapters.hyperliquid.info",
        ),
        # The localnet server too is started through the venue factory, by the commands and nobody else.
        ("bot/service/views.py", "from adapters.localnet.server import serve\n", "adapters.localnet.server"),
        ("bot/cli/localnet.py", "from adapters.localnet.server import serve\n", "adapters.localnet.server"),
        ("bot/analytics/fetch.py", "from adapters.gmx.venue import GmxVenue\n", "adapters.gmx.venue"),
    ],
)
def test_a_forbidden_import_is_reported(tmp_path: Path, importer: str, text: str, edge: str) -> None:
    tree = {
        "bot/__init__.py": "",
        "bot/ledger/__init__.py": "class Ledger: ...\n",
        "bot/telegram/__init__.py": "",
        "bot/telegram/app.py": "",
        "bot/pipeline/__init__.py": "",
        "bot/pipeline/copier.py": "",
        "bot/service/__init__.py": "",
        "bot/service/service.py": "",
        "bot/analytics/__init__.py": "",
        "bot/analytics/fetch.py": "",
        "adapters/__init__.py": "",
        "adapters/hyperliquid/__init__.py": "",
        "adapters/hyperliquid/info.py": "",
    }
    edges = _fake_tree(tmp_path, {**tree, importer: text})
    name = layers.module_name(tmp_path / importer, tmp_path)
    assert (name, edge) in layers.violations(edges)


def test_allowed_imports_are_not_reported(tmp_path: Path) -> None:
    edges = _fake_tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/domain.py": "",
            "bot/ledger/__init__.py": "from bot.domain import Fill\nfrom bot.ledger import models\n",
            "bot/ledger/models.py": "import sqlmodel\n",
            "bot/pipeline/__init__.py": "",
            "bot/pipeline/copier.py": "from bot.ledger import Ledger\nfrom bot.service.settings import X\n",
            "bot/venues.py": "from adapters.hyperliquid.venue import HyperliquidVenue\n",
            "bot/service/__init__.py": "",
            "bot/service/settings.py": "",
            "bot/cli/__init__.py": "",
            "bot/cli/localnet.py": "from bot.venues import serve_localnet\n",
            "bot/ledger/db.py": "import sqlalchemy\n",
            "bot/ledger/repository.py": "from bot.ledger.db import session_factory\n",
            "bot/service/views.py": "from bot.ledger.db import LedgerConfigError\n",
        },
    )
    assert layers.violations(edges) == {}


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("if on == 'gmx': pass\n", ["on == 'gmx'"]),
        ("ok = v is FollowerVenue.GMX\n", ["v is FollowerVenue.GMX"]),
        ("if on == GMX: pass\n", ["on == GMX"]),
        ("ok = name in ('hyperliquid', 'paper')\n", ["name in ('hyperliquid', 'paper')"]),
        ("ok = not caps.agent_wallets\n", []),
    ],
)
def test_a_comparison_with_a_venue_name_is_reported(source: str, found: list[str]) -> None:
    assert layers.venue_name_checks(source) == found


def test_only_the_venue_factory_may_name_a_venue(tmp_path: Path) -> None:
    _fake_tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/venues.py": "def pick(name):\n    return name == 'gmx'\n",
            "bot/service/__init__.py": "",
            "bot/service/views.py": "def gmx(v):\n    return v.name == 'gmx'\n",
        },
    )
    assert layers.venue_namers(tmp_path) == {"bot.service.views": ["v.name == 'gmx'"]}


def test_an_unplaced_module_is_reported(tmp_path: Path) -> None:
    edges = _fake_tree(tmp_path, {"bot/__init__.py": "", "bot/newthing.py": "from bot.domain import X\n"})
    assert layers.place("bot.newthing") is None
    assert ("bot.newthing", "bot.domain") in layers.violations(edges)


def test_a_circle_is_found_even_through_a_function_level_import(tmp_path: Path) -> None:
    edges = _fake_tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/a.py": "from bot.b import x\n",
            "bot/b.py": "from bot import c\n",
            "bot/c.py": "def f():\n    from bot.a import y\n",
            "bot/d.py": "from bot.a import z\n",
        },
    )
    assert layers.cycles(edges) == [frozenset({"bot.a", "bot.b", "bot.c"})]
