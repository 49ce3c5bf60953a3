"""The one input boundary (bot/service/inputs.py), issue #14 items 2, 5, 10, 13, 16: hostile numbers,
addresses, tokens and files are refused in one line naming the field and the accepted values, cost
nothing, and change nothing in the ledger."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.cli.simulate import main as simulate_main
from bot.service import inputs
from bot.service.errors import InvalidInput
from bot.simulate import ScenarioRun
from strategies.model import Market
from strategies.num import add, div, mul
from strategies.orders import plan_order
from tests.ledger.support import sqlite_copy, sqlite_template
from tests.service.support import fixed_key, write_fast_keystore

PASSWORD = "correct horse battery"
SOURCE = "0x" + "5e" * 20
OTHER = "0x" + "6f" * 20
REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests" / "simulate" / "scenarios" / "example1_eth_locked_ratio.json"
FILL = {
    "coin": "ETH",
    "px": "3000",
    "sz": "1",
    "side": "B",
    "time": 1_700_000_000_000,
    "oid": 1,
    "tid": 2,
    "startPosition": "0",
    "dir": "Open Long",
    "closedPnl": "0",
    "fee": "0.1",
    "hash": "0x",
    "crossed": True,
}


@dataclass
class World:
    """A ledger (SQLite file) with one account following SOURCE (ETH, SOL), and the CLI on it."""

    db: Path
    env: dict[str, str]
    tmp: Path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every table but the audit log (which records refused requests on purpose)."""
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'audit_log'")
            tables = [row[0] for row in rows]
            return {t: sorted(map(tuple, db.execute(f'SELECT * FROM "{t}"')), key=repr) for t in tables}

    def refused(self, *args: str, code: int = 2) -> str:
        """Run a command that must be refused: one line on stderr, no traceback, the ledger unchanged."""
        before = self.snapshot()
        result = self.run(*args)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        err = result.stderr
        assert "Traceback" not in err + result.stdout and err.count("\n") == 1 and err.strip(), (args, err)
        assert self.snapshot() == before
        return err


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("boundary")
    with sqlite_template(tmp) as template:
        url = sqlite_copy(template, tmp)
    env = {
        "MIRROR_DATA_DIR": str(tmp / "data"),
        "MIRROR_DATABASE_URL": url,
        "MIRROR_HL_API_URL": "http://127.0.0.1:9",
        "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
    }
    w = World(tmp / "ledger.db", env, tmp)
    keystore, _ = write_fast_keystore(tmp / "agent.json", PASSWORD)
    master = fixed_key("boundary-master").address
    assert w.run("account", "add", "--address", master, "--keystore", str(keystore)).exit_code == 0
    added = w.run("follow", "add", SOURCE, "--tokens", "ETH,SOL")
    assert added.exit_code == 0, added.stderr
    yield w


# --- item 2 and 5: limits and scalings outside their range ------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "max_notional_token=9e999999",
            "max_notional_token: out of range: '9e999999' (accepted: [0, 1000000000000])",
        ),
        ("max_leverage=9e999999", "max_leverage: out of range: '9e999999' (accepted: (0, 100])"),
        ("max_leverage=101", "max_leverage: out of range: 101 (accepted: (0, 100])"),
        (
            "max_notional_total=1e13",
            "max_notional_total: out of range: 10000000000000 (accepted: [0, 1000000000000])",
        ),
        ("equity_floor=1e999999", "equity_floor: out of range: '1e999999' (accepted: (0, 1000000000000])"),
        (
            "daily_loss_limit=1e-999999",
            "daily_loss_limit: out of range: more than 18 decimals (accepted: (0, 1], a fraction: 0.05 = 5 %",
        ),
        (
            "take_profit_pct=1e999999999",
            "take_profit_pct: out of range: '1e999999999' (accepted: a percent in (0, 10000], or off)",
        ),
    ],
)
def test_a_limit_outside_its_range_is_refused_with_the_range(world: World, change: str, message: str) -> None:
    err = world.refused("limits", SOURCE, change, "--yes")
    assert message in err, err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e999999999", "scaling: out of range: '1e999999999' (accepted: (0, 1000])"),
        ("1e-999999999", "scaling: out of range: more than 18 decimals (accepted: (0, 1000])"),
        ("1e-999999", "scaling: out of range: more than 18 decimals (accepted: (0, 1000])"),
        ("1" * 100, "scaling: not a number or too long"),
    ],
)
def test_a_scaling_with_a_huge_exponent_is_refused(world: World, value: str, message: str) -> None:
    err = world.refused("follow", "update", SOURCE, "--scaling", value)
    assert message in err, err
    err = world.refused("follow", "add", OTHER, "--scaling", value)
    assert message in err, err


def test_range_checks_never_compute_with_the_value() -> None:
    """`1e999999999` is compared, never formatted or multiplied: the refusal is immediate (no clock:
    the point is that the value never reaches arithmetic, which a Decimal trap would show)."""
    from bot.service.settings import RANGES

    for text in ("1e999999999", "-1e999999999", "1e-999999999"):
        with pytest.raises(InvalidInput, match="out of range"):
            RANGES["max_notional_token"].read(text, "max_notional_token")
        with pytest.raises(InvalidInput, match="out of range"):
            inputs.decimal(text, "x")


# --- item 13: tokens, addresses ---------------------------------------------------------------------


def test_a_follow_excluding_all_its_tokens_is_refused(world: World) -> None:
    err = world.refused("follow", "add", OTHER, "--tokens", "SOL", "--exclude", "SOL")
    assert "exclude: excludes every token the follow copies (SOL)" in err
    err = world.refused("follow", "update", SOURCE, "--exclude", "ETH,SOL")
    assert "exclude: excludes every token the follow copies (ETH, SOL)" in err


def test_a_huge_token_list_is_refused(world: World) -> None:
    """Unchecked by an unreachable venue, 100,000 coin names were stored in the plan."""
    coins = ",".join(f"C{i}" for i in range(100_000))
    assert "tokens: 100000 coins (accepted: at most 512" in world.refused(
        "follow", "add", OTHER, "--tokens", coins
    )


CHECKSUMMED = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55's own example


def test_addresses_follow_eip55_and_the_zero_address_is_refused(world: World) -> None:
    assert inputs.address(CHECKSUMMED, "source") == CHECKSUMMED.lower()
    assert inputs.address(CHECKSUMMED.lower(), "source") == CHECKSUMMED.lower()
    assert inputs.address("0x" + CHECKSUMMED[2:].upper(), "source") == CHECKSUMMED.lower()
    typo = CHECKSUMMED[:-1] + "e"  # one letter's case changed
    with pytest.raises(InvalidInput, match="source: wrong EIP-55 checksum"):
        inputs.address(typo, "source")
    err = world.refused("follow", "add", typo)
    assert "source: wrong EIP-55 checksum" in err
    err = world.refused("follow", "add", "0x" + "0" * 40)
    assert "source: the zero address is nobody's wallet" in err
    err = world.refused("follow", "add", OTHER, "--account", "0x" + "0" * 40)
    assert "the zero address" in err
    keystore, _ = write_fast_keystore(world.tmp / "zero.json", PASSWORD)
    err = world.refused("account", "add", "--address", "0x" + "0" * 40, "--keystore", str(keystore))
    assert "address: the zero address is nobody's wallet" in err


# --- item 10: scenario and fills files ---------------------------------------------------------------


def _scenario(tmp: Path, name: str, edit: dict[str, object] | None = None, text: str | None = None) -> Path:
    doc = json.loads(SCENARIO.read_text())
    for key, value in (edit or {}).items():
        step, field, *coin = key.split(".")
        target = doc["steps"][int(step)] if step.isdigit() else doc[step]
        if coin:
            target.setdefault(field, {})[coin[0]] = value
        else:
            target[field] = value
    path = tmp / name
    path.write_text(text if text is not None else json.dumps(doc))
    return path


def _fills(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def _cassette(request: str, response: str) -> str:
    """A vcrpy cassette of one request; the bodies are JSON in (escaped) YAML strings."""
    return (
        f"interactions:\n- request:\n    body: {json.dumps(request)}\n"
        f"  response:\n    body:\n      string: {json.dumps(response)}\n"
    )


def _hostile_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, what the refusal says)."""
    huge = dict(FILL, sz="1e999999999")
    tiny = dict(FILL, sz="1e-999999")
    late = dict(FILL, time=10**30)
    builder = dict(FILL, builderFee="1e999999999")  # the builder's part of the fee (SPEC §14)
    deep = "[" * 100_000 + "]" * 100_000
    return {
        "strings": (_fills(tmp, "strings.json", '["a", "b"]'), "userFills[0]: expected an object, got str"),
        "huge size": (_fills(tmp, "huge.json", json.dumps([huge])), "fill 0.sz: out of range: too large"),
        "tiny size": (_fills(tmp, "tiny.json", json.dumps([tiny])), "fill 0.sz: out of range: more than 18"),
        "huge builder fee": (
            _fills(tmp, "builder.json", json.dumps([builder])),
            "fill 0.builder_fee: out of range: too large",
        ),
        "time 1e30": (_fills(tmp, "late.json", json.dumps([late])), "fill 0.time: out of range"),
        "deep": (_fills(tmp, "deep.json", deep), "nested more than 32 levels deep"),
        "deep yaml": (_fills(tmp, "deep.yaml", "a: " + deep + "\n"), "nested more than 32 levels deep"),
        "deep cassette body": (
            _fills(tmp, "body.yaml", _cassette(json.dumps({"type": "userFills"}), deep)),
            "nested more than 32 levels deep",
        ),
        "python tag": (
            _fills(tmp, "tag.yaml", "interactions: !!python/object/apply:os.system ['true']\n"),
            "could not determine a constructor",
        ),
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"0.source_equity": "1e999999999"}, "step 0: source_equity: out of range"),
        ({"0.follower_equity": "1e28"}, "step 0: follower_equity: out of range"),
        ({"1.source.ETH": "1e999999999"}, "step 1: source.ETH: out of range: too large"),
        ({"1.source.ETH": "1e-999999"}, "step 1: source.ETH: out of range: more than 18 decimals"),
        ({"0.mids.ETH": "1e999999999"}, "step 0: mids.ETH: out of range"),
        ({"follow.scaling": {"*": "1e999999999"}}, "follow.scaling.*: out of range"),
        ({"follow.include": [["ETH"]]}, "follow.include[0]: unknown coin ['ETH']"),
        ({"0.mids": {"ETH\nETH": "1"}}, "step 0: mids.'ETH\\nETH': unknown coin"),
        ({"1.source.ETH": "1" * 65}, "step 1: source.ETH: not a number or too long"),
    ],
)
def test_a_scenario_with_huge_numbers_is_refused(world: World, edit: dict[str, object], message: str) -> None:
    path = _scenario(world.tmp, "huge.json", edit)
    err = world.refused("simulate", "--scenario", str(path))
    assert message in err, err


def test_a_deep_scenario_is_refused(world: World) -> None:
    path = _scenario(world.tmp, "deep.json", text="[" * 100_000 + "]" * 100_000)
    assert "nested more than 32 levels deep" in world.refused("simulate", "--scenario", str(path))


def test_hostile_fills_files_are_refused_by_every_command(world: World) -> None:
    for name, (path, message) in _hostile_files(world.tmp).items():
        for command in (
            ("simulate", "--fills", str(path), "--equity", "1000", "--source-equity", "1000"),
            ("inspect", SOURCE, "--fills", str(path)),
            ("backtest", SOURCE, "--fills", str(path), "--source-equity", "1000"),
        ):
            err = world.refused(*command)
            assert message in err and "--fills" in err, (name, command, err)


def test_backtest_with_a_huge_equity_is_refused(world: World) -> None:
    path = _fills(world.tmp, "ok.json", json.dumps([FILL]))
    err = world.refused(
        "backtest", SOURCE, "--fills", str(path), "--source-equity", "1000", "--equity", "1e999999"
    )
    assert "--equity: out of range: '1e999999'" in err


def test_a_file_over_the_size_bound_is_refused_unread(world: World) -> None:
    path = world.tmp / "big.json"
    with path.open("wb") as handle:
        handle.truncate(inputs.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    err = world.refused("simulate", "--scenario", str(path))
    assert "the scenario is too large (accepted: at most 4 MiB)" in err
    args = ("--fills", str(path), "--source-equity", "1000")
    assert "big.json is too large (accepted: at most 32 MiB)" in world.refused("backtest", SOURCE, *args)


# --- item 16: streamed output, exact sizes ----------------------------------------------------------


def test_simulate_writes_each_line_as_it_is_decided(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first line is written before the second step runs (not the whole run held in memory)."""
    steps_run: list[int] = []
    original = ScenarioRun.run_step

    def counting(self: ScenarioRun, step: object) -> list[dict[str, object]]:
        steps_run.append(1)
        return original(self, step)  # type: ignore[arg-type]

    monkeypatch.setattr(ScenarioRun, "run_step", counting)
    seen_at_write: list[int] = []

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            seen_at_write.append(len(steps_run))
            return super().write(text)

    out = Out()
    assert simulate_main(SCENARIO, None, None, None, out=out) == 0
    assert seen_at_write[0] == 1 and len(steps_run) == 8
    assert len(out.getvalue().splitlines()) == len(seen_at_write)


def test_an_order_is_exactly_its_delta_beyond_28_digits() -> None:
    """abs() rounds to the thread's 28-digit context; an order's size must be the exact delta."""
    target = Decimal("12345678901234567890123456.7891")  # 30 significant digits, whole lots of 4 decimals
    planned = plan_order(
        target,
        Decimal(0),
        market=Market("ETH", 4),
        mid=Decimal(1),
        min_notional=Decimal(10),
        slippage_cap=Decimal("0.01"),
    )
    assert planned.order is not None and planned.order.size == target


def test_increase_or_decrease_is_decided_exactly_beyond_28_digits() -> None:
    """Both sizes rounded to 28 digits (abs()) were equal, so an increase was called a decrease."""
    from strategies.mirror import classify
    from strategies.model import Event

    old, new = Decimal("1234567890123456789012345678.1"), Decimal("1234567890123456789012345678.2")
    assert classify(old, new) is Event.INCREASE
    assert classify(old.copy_negate(), new.copy_negate()) is Event.INCREASE


# --- the ranges table -------------------------------------------------------------------------------


def test_the_docs_table_is_the_code() -> None:
    """docs/inputs.md lists every range of RANGES (and the scenario's), with the same interval."""
    from bot.analytics.rank_report import RANK_RANGES
    from bot.analytics.service import BACKTEST_RANGES, MAX_DAYS, MAX_DELAY_MS
    from bot.fills_file import MAX_ID, MAX_TIME_MS
    from bot.service.commission import PROFIT_SHARE
    from bot.service.inputs import COMMISSION_TENTHS_BP, PERIOD_COUNTS, RANK_SOURCES
    from bot.service.settings import RANGES
    from bot.simulate import SCENARIO_RANGES

    text = (REPO / "docs" / "inputs.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| `([^`]+)` \|", text, re.MULTILINE))
    code = {key: r.text() for key, r in RANGES.items()} | {
        f"scenario.{key}": r.text() for key, r in SCENARIO_RANGES.items()
    }
    code |= {f"backtest.{key}": r.text() for key, r in BACKTEST_RANGES.items()}
    code |= {
        "backtest.days": f"[1, {MAX_DAYS}]",
        "backtest.delay_ms": f"[0, {MAX_DELAY_MS}]",
        "fills.time": f"[0, {MAX_TIME_MS}]",
        "fills.oid": f"[0, {MAX_ID}]",
    }
    code |= {f"rank.{key}": r.text() for key, r in RANK_RANGES.items()}
    code |= {"rank.sources": "[{}, {}]".format(*RANK_SOURCES), "rank.days": f"[1, {MAX_DAYS}]"}
    code |= {"telegram.profit.days": f"[1, {MAX_DAYS}]"}  # /profit takes backtest's bound
    names = {"day": "daily", "week": "weekly", "month": "monthly"}
    code |= {f"telegram.{names[p]}.count": f"[1, {most}]" for p, (_, most) in PERIOD_COUNTS.items()}
    code |= {"commission_tenths_bp": "[{}, {}]".format(*COMMISSION_TENTHS_BP)}
    code |= {"commission.share": PROFIT_SHARE.text()}
    assert rows == code


# --- no traceback reaches a user: generated hostile arguments and files ------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HOSTILE_NUMBERS = st.one_of(
    st.sampled_from(
        ["1e999999999", "-1e999999999", "1e-999999999", "9e999999", "nan", "-inf", "sNaN", "0x10", "1_0", ""]
    ),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-(10**6), 10**6), st.integers(-(10**10), 10**10)),
    st.integers(-(10**40), 10**40).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
)
CLI_SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _outcome(world: World, *args: str) -> Result:
    """Run; a refusal (non-zero exit) is one line, no traceback, and leaves the ledger unchanged."""
    before = world.snapshot()
    result = world.run(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "Traceback" not in result.stdout + result.stderr, args
    if result.exit_code != 0:
        assert result.stderr.strip() and result.stderr.count("\n") == 1, (args, result.stderr)
        assert world.snapshot() == before, args
    return result


def _in_range(key: str, value: str) -> bool:
    from bot.service.settings import RANGES

    try:
        RANGES[key].read(value, key)
    except InvalidInput:
        return False
    return True


@CLI_SETTINGS
@given(
    value=HOSTILE_NUMBERS,
    key=st.sampled_from(["max_notional_token", "max_leverage", "equity_floor", "ratio"]),
)
def test_generated_numbers_never_escape_the_boundary(world: World, value: str, key: str) -> None:
    scaled = _outcome(world, "follow", "update", SOURCE, "--scaling", value)
    assert scaled.exit_code != 0 or _in_range("scaling", value), value
    _outcome(world, "follow", "update", SOURCE, "--set", f"{key}={value}")
    if key != "ratio":
        result = _outcome(world, "limits", SOURCE, f"{key}={value}", "--yes")
        assert result.exit_code != 0 or _in_range(key, value), value
    _outcome(world, "follow", "update", SOURCE, "--scale", f"ETH={value}")


@CLI_SETTINGS
@given(
    address=st.one_of(
        st.text(max_size=50),
        st.text("0123456789abcdefABCDEF", min_size=40, max_size=40).map(lambda h: "0x" + h),
        st.just("0x" + "0" * 40),
    ),
    tokens=st.text(max_size=20),
)
def test_generated_addresses_and_tokens_never_escape_the_boundary(
    world: World, address: str, tokens: str
) -> None:
    _outcome(world, "follow", "add", address, "--tokens", tokens or "ETH", "--scaling", "1e999999")
    _outcome(world, "follow", "update", SOURCE, "--tokens", tokens or "x y", "--exclude", tokens or "ETH,SOL")


JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), HOSTILE_NUMBERS, st.text(max_size=8)
)


def _nested(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3))


JSON_VALUES = st.recursive(JSON_LEAVES, _nested, max_leaves=8)


@st.composite
def hostile_fills(draw: st.DrawFn) -> str:
    """A fills list whose fields are either right or hostile (or a random JSON document)."""
    if draw(st.booleans()):
        return json.dumps(draw(JSON_VALUES))
    fill = {key: draw(st.just(value) | JSON_VALUES) for key, value in FILL.items()}
    return json.dumps([fill, dict(FILL, time=1_700_000_000_001)])


@CLI_SETTINGS
@given(text=hostile_fills())
def test_generated_fills_files_never_escape_the_boundary(world: World, text: str) -> None:
    path = _fills(world.tmp, "generated.json", text)
    _outcome(world, "simulate", "--fills", str(path), "--equity", "1000", "--source-equity", "1000")
    _outcome(world, "inspect", SOURCE, "--fills", str(path))
    _outcome(world, "backtest", SOURCE, "--fills", str(path), "--source-equity", "1000")


@st.composite
def hostile_scenarios(draw: st.DrawFn) -> str:
    """The worked example with one value replaced by something hostile (or a random document)."""
    if draw(st.integers(0, 4)) == 0:
        return json.dumps(draw(JSON_VALUES))
    doc = json.loads(SCENARIO.read_text())
    step = draw(st.integers(0, len(doc["steps"]) - 1))
    where = draw(
        st.sampled_from(["source_equity", "follower_equity", "mids", "source", "fill", "set_scaling"])
    )
    value = draw(JSON_VALUES)
    if where in ("mids", "source", "set_scaling"):
        doc["steps"][step][where] = {draw(st.sampled_from(["ETH", "*"])): value}
    else:
        doc["steps"][step][where] = value
    if draw(st.booleans()):
        keys = ["scaling", "max_leverage", "ratio", "slippage_cap", "include", "exclude", "side"]
        doc["follow"][draw(st.sampled_from(keys))] = value
    return json.dumps(doc)


@CLI_SETTINGS
@given(text=hostile_scenarios(), backtest_value=HOSTILE_NUMBERS)
def test_generated_scenarios_never_escape_the_boundary(world: World, text: str, backtest_value: str) -> None:
    path = _scenario(world.tmp, "generated-scenario.json", text=text)
    _outcome(world, "simulate", "--scenario", str(path))
    fills = _fills(world.tmp, "fine.json", json.dumps([FILL]))
    for flag in ("--equity", "--scaling", "--taker-fee", "--depth"):
        _outcome(
            world, "backtest", SOURCE, "--fills", str(fills), "--source-equity", "1000", flag, backtest_value
        )


def test_fill_positions_and_prices_are_exact_beyond_28_digits() -> None:
    """A position of 10^14 moved by 10^-18 (both in the domain) needs 33 digits: the thread's default
    28-digit context lost the move (and rounded the average fill price)."""
    from bot.domain import Side, SourceFill
    from bot.normalise import changes_from_fills

    start = Decimal("123456789012345")
    tiny = Decimal("0.000000000000000001")
    fill = SourceFill("ETH", Decimal("3000.5"), tiny, Side.BUY, 1, 1, 1, start)
    moved = Decimal("123456789012345.000000000000000001")
    second = SourceFill("ETH", Decimal("3000.25"), Decimal(3), Side.BUY, 1, 2, 2, moved)
    (change,) = changes_from_fills(SOURCE, [fill, second])
    assert (change.old, change.new) == (start, Decimal("123456789012348.000000000000000001"))
    notional = add(mul(Decimal("3000.5"), tiny), mul(Decimal("3000.25"), Decimal(3)))
    assert change.avg_px == div(notional, add(tiny, Decimal(3)))  # the one 60-digit context


ADDRESS_TEXT = st.one_of(
    st.text(max_size=50),
    st.text("0123456789abcdefABCDEF", min_size=40, max_size=40).map(lambda h: "0x" + h),
    st.sampled_from(["0x" + "0" * 40, CHECKSUMMED[:-1] + "e", "0x" + "5e" * 19, "0x" + "5e" * 21]),
)


@CLI_SETTINGS
@given(address=ADDRESS_TEXT, number=st.integers(-(10**30), 10**30).map(str))
def test_generated_addresses_and_counts_of_other_commands_never_escape(
    world: World, address: str, number: str
) -> None:
    """The other commands that take an address or a number: refused in one line, nothing changed."""
    fills = _fills(world.tmp, "fine.json", json.dumps([FILL]))
    for args in (
        ("follow", "remove", address, "--keep"),
        ("follow", "update", address, "--scaling", "50"),
        ("limits", address, "max_leverage=3"),
        ("inspect", address, "--fills", str(fills), "--days", number),
        ("backtest", address, "--fills", str(fills), "--source-equity", "1000", "--delay-ms", number),
        ("pnl", "--account", address, "--days", number),
        ("history", "--account", address, "--count", number),
    ):
        result = _outcome(world, *args)
        if address.strip().lower() != SOURCE and args[0] in ("follow", "limits"):
            assert result.exit_code != 0, args


# --- whole numbers typed as text (Telegram counts, user ids) -----------------------------------------


@given(st.text(max_size=80) | st.integers(min_value=-(10**40), max_value=10**40).map(str))
@settings(max_examples=200, deadline=None)
def test_whole_numbers_typed_as_text_are_read_or_refused_in_one_line(text: str) -> None:
    try:
        out = inputs.whole_text(text, "count", 1, 200)
    except InvalidInput as exc:
        assert "\n" not in str(exc) and "from 1 to 200" in str(exc)
    else:
        assert 1 <= out <= 200 and out == int(text.strip())


def test_telegram_user_ids_are_bounded_before_int_and_zero_is_refused() -> None:
    assert inputs.telegram_user(" -1001234 ", "user") == -1001234
    for bad in ("0", "9" * 5000, "²", "12a", "", 2**53, True):
        with pytest.raises(InvalidInput, match="Telegram user id"):
            inputs.telegram_user(bad, "user")


def test_a_key_anywhere_in_a_value_is_never_shown() -> None:
    key = "ab" * 32
    assert key not in inputs.shown(f"label=0x{key}") and key not in inputs.shown(key)


@pytest.mark.parametrize("command", [["alerts"], ["owner", "0x" + "5e" * 20]], ids=["alerts", "owner"])
def test_a_telegram_id_beyond_the_bot_apis_bound_is_refused(world: World, command: list[str]) -> None:
    err = world.refused(*command, str(10**26))
    assert "Telegram user id" in err


def test_a_file_over_a_small_limit_names_the_limit_it_broke(tmp_path: Path) -> None:
    """A limit under 1 MiB (an audit export's key file: 1 KiB) is said in its own unit, never "0 MiB"."""
    big = tmp_path / "key"
    big.write_bytes(b"0" * 2048)
    with pytest.raises(InvalidInput) as caught:
        inputs.read_text(big, "--key-file", limit=1024)
    assert "at most 1024 bytes" in str(caught.value)
    huge = tmp_path / "huge"
    huge.write_bytes(b"0" * (2 * 1024 * 1024 + 1))
    with pytest.raises(InvalidInput) as caught:
        inputs.read_text(huge, "FILE", limit=2 * 1024 * 1024)
    assert "at most 2 MiB" in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=70))
def test_a_short_decision_id_is_8_to_63_hex_digits_and_nothing_else(value: str) -> None:
    """`/why`'s short ids (bot/service/inputs.py, decision_prefix): only hex reaches the ledger's prefix
    match, so nothing a person types acts as a LIKE wildcard or reaches SQL as anything but digits."""
    from bot.service.inputs import decision_prefix

    found = decision_prefix(value)
    text = value.strip().lower()
    if found is None:
        assert not (8 <= len(text) < 64 and set(text) <= set("0123456789abcdef"))
    else:
        assert found == text and 8 <= len(found) < 64 and set(found) <= set("0123456789abcdef")
    assert decision_prefix("1A2B3C4D") == "1a2b3c4d" and decision_prefix("1a2b3c4") is None
    assert decision_prefix("1a2b3c4%") is None and decision_prefix("a" * 64) is None
