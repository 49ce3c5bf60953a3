"""deploy/: the alert rules (promtool), the Grafana dashboard and the systemd units (systemd-analyze),
and docs/operations.md documenting every metric."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.ops.metrics import Metrics
from tests.ops.prometheus import ROOT, promtool

DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
NAME = re.compile(r"\b(mirrorbot_[a-z_]+)")


def families() -> set[str]:
    """The metrics' names as queried (a counter's with its `_total`)."""
    metrics = Metrics(cluster=True)  # `run`'s and the distributed roles' (bot/ops/metrics.py)
    return {f.name + ("_total" if f.type == "counter" else "") for f in metrics.registry.collect()}


def metric_of(series: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if series.endswith(suffix) and series.removesuffix(suffix) in families():
            return series.removesuffix(suffix)
    return series


def test_the_alert_rules_check_with_promtool() -> None:
    done = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout + done.stderr


def test_each_alert_fires_on_the_series_it_watches() -> None:
    """ingestion lag, rejection rate, out-of-sync followers, a dead (or unready) runner, a copy worker's
    bus backlog."""
    done = subprocess.run(
        [promtool(), "test", "rules", "rules_test.yml"], cwd=RULES.parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rules_and_the_dashboard_query_only_metrics_that_exist() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "mirrorbot.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs and all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in dashboard["panels"])
    queried = {
        metric_of(n) for text in [*exprs, RULES.read_text(encoding="utf-8")] for n in NAME.findall(text)
    }
    assert queried <= families(), queried - families()
    shown = {metric_of(n) for e in exprs for n in NAME.findall(e)}
    assert shown == families(), f"metrics on no panel: {families() - shown}"


def test_every_metric_is_documented_with_a_query() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(families()) if f"`{name}" not in text]
    assert not missing, f"docs/operations.md does not document {missing}"


UNIT = DEPLOY / "systemd" / "mirrorbot@.service"


def test_the_runner_unit_is_hardened() -> None:
    text = UNIT.read_text(encoding="utf-8")
    for line in (
        "User=mirrorbot",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "LoadCredential=keystore_password:/etc/mirrorbot/keystore-password",
        "Environment=MIRROR_KEYSTORE_PASSWORD_FILE=%d/keystore_password",
        "ExecStart=/opt/mirrorbot/.venv/bin/mirrorbot run",
    ):
        assert line in text.splitlines(), line
    assert "MIRROR_KEYSTORE_PASSWORD=" not in text  # never in the environment


@pytest.mark.parametrize("role", ["watch", "copy", "control"])
def test_each_role_of_the_multi_process_mode_has_a_hardened_unit(role: str) -> None:
    """Its --name is the instance; its own env file (its MIRROR_METRICS_PORT) after the shared one."""
    lines = (DEPLOY / "systemd" / f"mirrorbot-{role}@.service").read_text(encoding="utf-8").splitlines()
    for line in (
        "User=mirrorbot",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "EnvironmentFile=/etc/mirrorbot/mirrorbot.env",
        "EnvironmentFile=-/etc/mirrorbot/%N.env",
        f"ExecStart=/opt/mirrorbot/.venv/bin/mirrorbot {role} --name %i",
    ):
        assert line in lines, line
    assert lines.index("EnvironmentFile=-/etc/mirrorbot/%N.env") > lines.index(
        "EnvironmentFile=/etc/mirrorbot/mirrorbot.env"
    )  # the process's own settings win
    assert not any(line.startswith("Environment=MIRROR_KEYSTORE_PASSWORD=") for line in lines)


def _instantiated(tmp_path: Path) -> list[Path]:
    """The units as systemd would load them: the template as an instance, ExecStart at this checkout's
    `mirrorbot` (verify checks that the program exists)."""
    mirrorbot = shutil.which("mirrorbot") or str(Path(__import__("sys").executable).with_name("mirrorbot"))
    units = []
    for path in sorted((DEPLOY / "systemd").glob("*.service")) + sorted((DEPLOY / "systemd").glob("*.timer")):
        name = path.name.replace("@.service", "@hyperliquid.service")
        text = path.read_text(encoding="utf-8").replace("/opt/mirrorbot/.venv/bin/mirrorbot", mirrorbot)
        (tmp_path / name).write_text(text, encoding="utf-8")
        units.append(tmp_path / name)
    return units


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here: the units are not verified")
    units = _instantiated(tmp_path)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, units)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stdout + done.stderr
    runner = next(u for u in units if u.name == "mirrorbot@hyperliquid.service")
    # systemd's own exposure score (0 best, 10 worst): kept below 2 ("OK").
    done = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=20", str(runner)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
