"""A recorded fill history from a file (`simulate --fills`, `inspect --fills`, `backtest --fills`): the
input boundary for fills files.

The file is read bounded (bot/service/inputs.py: size, nesting), YAML only through `safe_load` (a
`!!python/…` tag is refused, never constructed), and every fill's numbers must lie in the domain of
every number and its times and ids in their ranges before anything computes with them. Any refusal is
one `InvalidInput` naming `--fills`.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bot.domain import SourceFill
from bot.service import inputs
from bot.service.errors import InvalidInput
from bot.venues import RecordedFillsError, recorded_fills

FIELD = "--fills"
ACCEPTED = "the venue's userFills JSON or a vcrpy cassette"
MAX_TIME_MS = 4_102_444_800_000  # 2100-01-01 UTC: a fill time past it is not a real one
MAX_ID = 2**63 - 1  # the venue's order and trade ids are 64-bit


def load_fills(path: Path) -> list[SourceFill]:
    text = inputs.read_text(path, FIELD)
    try:
        inputs.text_nesting(text, FIELD)
        if path.suffix.lower() in {".yaml", ".yml"}:
            doc = yaml.safe_load(text)
            _embedded_nesting(inputs.nesting(doc, FIELD))
            fills = recorded_fills(doc, path.name, cassette=True)
        else:
            doc = inputs.nesting(json.loads(text, parse_float=inputs.json_number), FIELD)
            fills = recorded_fills(doc, path.name, cassette=False)
    except InvalidInput as exc:
        raise InvalidInput(FIELD, f"{path.name}: {str(exc).removeprefix(FIELD + ': ')}") from None
    except (RecordedFillsError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())  # one line: YAML errors span several
        problem = problem if len(problem) <= 200 else problem[:197] + "..."
        raise InvalidInput(FIELD, f"{path.name}: {problem}", ACCEPTED) from None
    except json.JSONDecodeError as exc:
        problem = f"not JSON ({exc.msg} at line {exc.lineno})"
        raise InvalidInput(FIELD, f"{path.name}: {problem}", ACCEPTED) from None
    except ValueError as exc:  # an integer literal too long to convert
        raise InvalidInput(FIELD, f"{path.name}: {str(exc)[:80]}", ACCEPTED) from None
    except RecursionError:
        raise InvalidInput(FIELD, f"{path.name}: nested more than {inputs.MAX_NESTING} levels deep") from None
    for i, fill in enumerate(fills):
        _check(fill, f"{FIELD}: {path.name}: fill {i}")
    return fills


def _embedded_nesting(doc: object) -> None:
    """A cassette's bodies are JSON inside YAML strings (escaped, so the text check cannot see their
    brackets): each is checked before the venue's parser reads it."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str | bytes):
            text = node.decode("utf-8", "replace") if isinstance(node, bytes) else node
            inputs.text_nesting(text, FIELD)


def _check(fill: SourceFill, where: str) -> None:
    """Every number of a fill in its domain (the parser has checked the types and signs)."""
    for name in ("px", "sz", "start_position", "closed_pnl", "fee", "builder_fee"):
        inputs.in_domain(getattr(fill, name), f"{where}.{name}")
    inputs.whole(fill.time_ms, f"{where}.time", 0, MAX_TIME_MS)
    inputs.whole(fill.oid, f"{where}.oid", 0, MAX_ID)
    if fill.tid is not None:
        inputs.whole(fill.tid, f"{where}.tid", 0, MAX_ID)
