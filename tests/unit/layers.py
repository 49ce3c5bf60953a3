"""The house's layer map, declared once, and the scans that check it.

`tests/unit/test_layering.py` runs the checks. The map is the target (ARCHITECTURE.md: domain at the
bottom, then ledger and pure risk guards, then pipeline and service, then analytics, Telegram and the
CLI on top; readers reach a venue only through `Venue`, built by the one venue factory, which is also
the only module that names a venue; only the ledger speaks SQL, nor hands out its sessions). Where
today's code does not obey it yet, the exception is listed in `KNOWN` below with its reason; an entry
that no longer happens fails the test too, so the list only shrinks as the code is fixed (issue #13).

Every import counts, wherever it is written (module level, inside a function, under
`TYPE_CHECKING`): an import moved into a function still makes one module depend on the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "adapters", "strategies")

# Bottom to top. A module may import its own group and any group of a LOWER layer; groups that share a
# layer are independent of each other. A group is a set of module names, each covering its submodules.
LAYERS: tuple[Mapping[str, tuple[str, ...]], ...] = (
    {"domain": ("bot", "bot.domain", "bot.redaction", "bot.normalise")},
    {"base": ("bot.config", "bot.database_url", "bot.logs", "bot.alerts", "bot.faults")},
    {"venue factory": ("bot.venues",)},  # builds venues from settings: the one importer of adapters
    {
        "ledger": ("bot.ledger",),
        "guards": ("bot.risk", "bot.risk.guards", "bot.risk.book"),  # pure: no Desk, no ledger
        "bus": ("bot.bus",),  # Redis Streams between the distributed roles (issue #15): no ledger
    },
    # The service writes what the pipeline reads (plans, controls); it never drives the pipeline.
    {"service": ("bot.service",)},
    {"pipeline": ("bot.pipeline",)},
    {
        "readers": ("bot.analytics", "bot.simulate", "bot.fills_file"),
        # The distributed roles (issue #15): the pipeline's parts fed by (or feeding) the bus.
        "cluster": ("bot.cluster",),
        # Operating it: the ops port (metrics, health) watches a running pipeline from outside, the audit
        # export reads the ledger. Nothing below starts it: the commands hand the runner its observer.
        "ops": ("bot.ops",),
    },
    {"telegram": ("bot.telegram",)},
    {
        "commands": (
            "bot.cli",
            "bot.demo",
        )
    },
)

# Venue adapters are reached only through the `Venue` protocol: the one factory that builds venues from
# settings imports them (the embedded localnet, a venue the commands start, too).
VENUE_FACTORY: tuple[str, ...] = ("bot.venues",)

# Adapters reach into bot/ only through the domain package (types, the Venue protocol, venue data).
ADAPTER_VIEW_OF_BOT = "bot.domain"


def adapter_may_import(module: str) -> bool:
    """Whether a module of adapters/ may import `module`: nothing of bot/ but the domain package."""
    return module.split(".")[0] != "bot" or _covers(ADAPTER_VIEW_OF_BOT, module)


# Only the ledger speaks SQL: the SQL libraries, and the ledger's own session factory (a session is SQL).
SQL_LIBRARIES = ("sqlalchemy", "sqlmodel", "alembic")
SQL_HANDLES = ("bot.ledger.db.session_factory",)  # names, not modules: `from bot.ledger.db import …`
SQL_OWNER = "bot.ledger"

# Only the venue factory names a venue (`x == "gmx"`, `x is FollowerVenue.GMX`, `x in (HYPERLIQUID, …)`):
# everything else asks the venue's `capabilities` what it can do.
VENUE_NAMES = ("hyperliquid", "gmx")

_VENUE = "#13: readers reach a venue only through Venue (the venue-layer work removes this)"
_SQL = "#13: only the ledger speaks SQL (the SQL moves into bot/ledger)"

# Today's exceptions: (importer, imported) -> why it is still there. Module names, exact.
KNOWN: dict[tuple[str, str], str] = {
    # bot/ importing a lower layer's sibling or a higher layer
    # SQL outside the ledger
}

# Import circles still there (each a set of modules), with the reason.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


# --- the scan ---
def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def _import_statements(path: Path) -> Iterable[tuple[str, tuple[str, ...]]]:
    """(module, imported names) for every absolute import in the file; `import a.b` gives ("a.b", ())."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(alias.name for alias in node.names)


def imports(path: Path) -> set[str]:
    """Every absolute import in the file, as written (`from a.b import c` gives `a.b`)."""
    return {module for module, _ in _import_statements(path)}


def graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module -> what it imports: modules of `packages` by full name (`from a import b` is `a.b` when
    that is a module, else `a`), anything else by its top-level name (`sqlmodel`, `httpx`)."""
    tops = tuple(packages)
    paths = {module_name(p, root): p for package in tops for p in modules(package, root)}
    edges: dict[str, set[str]] = {}
    for name, path in paths.items():
        found: set[str] = set()
        for module, names in _import_statements(path):
            if module.split(".")[0] not in tops:
                found.add(module.split(".")[0])
                continue
            submodules = {f"{module}.{n}" for n in names} & paths.keys()
            found |= submodules
            found |= {f"{module}.{n}" for n in names} & set(SQL_HANDLES)
            if not submodules or len(submodules) < len(names):
                found.add(module)
        found.discard(name)
        edges[name] = found
    return edges


# --- the rules ---
@dataclass(frozen=True, slots=True)
class Place:
    layer: int
    group: str


def _covers(name: str, module: str) -> bool:
    """`name` covers itself and its submodules; a top-level package (`bot`) only itself, so a new
    module of bot/ that the map does not place is reported instead of landing at the bottom."""
    return module == name or ("." in name and module.startswith(name + "."))


def place(module: str) -> Place | None:
    """The layer and group of a `bot` module: the longest matching name in `LAYERS` wins."""
    best: tuple[int, Place] | None = None
    for layer, groups in enumerate(LAYERS):
        for group, names in groups.items():
            for name in names:
                if _covers(name, module) and (best is None or len(name) > best[0]):
                    best = (len(name), Place(layer, group))
    return None if best is None else best[1]


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported` under the map (None: it may)."""
    top = imported.split(".")[0]
    if top in SQL_LIBRARIES or imported in SQL_HANDLES:
        return (
            None
            if importer == SQL_OWNER or importer.startswith(SQL_OWNER + ".")
            else f"only {SQL_OWNER} speaks SQL"
        )
    if top == "adapters":
        if any(_covers(name, importer) for name in VENUE_FACTORY):
            return None
        return "venue adapters are reached through the Venue protocol (built by the venue factory)"
    if top != "bot":
        return None
    here, there = place(importer), place(imported)
    if here is None or there is None:
        return "module not in the layer map"
    if here.group == there.group or there.layer < here.layer:
        return None
    where = "a higher layer" if there.layer > here.layer else "a sibling of its layer"
    return f"{here.group} may not import {there.group} ({where})"


def violations(edges: Mapping[str, set[str]]) -> dict[tuple[str, str], str]:
    """Every forbidden import among `bot` modules' imports."""
    return {
        (importer, imported): why
        for importer, targets in edges.items()
        if importer.split(".")[0] == "bot"
        for imported in sorted(targets)
        if (why := violation(importer, imported)) is not None
    }


def venue_name_checks(source: str) -> list[str]:
    """The comparisons in `source` against a venue's name (`x == "gmx"`, `x is FollowerVenue.GMX`,
    `x in ("gmx", …)`, or the factory's constants imported or copied under their name)."""

    def names_a_venue(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in VENUE_NAMES
        if isinstance(node, ast.Name):
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


def venue_namers(root: Path = ROOT) -> dict[str, list[str]]:
    """Every module of `bot` but the venue factory that compares against a venue's name, with the
    comparisons."""
    found: dict[str, list[str]] = {}
    for path in modules("bot", root):
        name = module_name(path, root)
        if any(_covers(factory, name) for factory in VENUE_FACTORY):
            continue
        if checks := venue_name_checks(path.read_text(encoding="utf-8")):
            found[name] = checks
    return found


def cycles(edges: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The import circles: strongly connected sets of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(t for t in edges[start] if t in edges))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(t for t in edges[nxt] if t in edges)))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(frozenset(members))
    return found


# --- size: a module a newcomer reads in one sitting ---
MAX_LINES = 500  # issue #13: no module in bot/ over ~500 lines; split by job before it grows past this


def oversized(root: Path = ROOT, package: str = "bot") -> dict[str, int]:
    """Modules of `package` longer than `MAX_LINES`, with their line counts."""
    lines = {module_name(p, root): p.read_text(encoding="utf-8").count("\n") for p in modules(package, root)}
    return {name: n for name, n in lines.items() if n > MAX_LINES}
