"""The README's promises a new user acts on: the own-data commands exist as written, the section says where the
``evalkit`` command is after the quick start, and the test suite's running time is stated."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from evalkit.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _commands(text: str) -> list[list[str]]:
    """Each ``evalkit ...`` line of the section's shell blocks, continuations joined, comments and [optional]
    markers dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    out = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s#.*$", "", line).replace("[", "").replace("]", "").strip()
            if line.startswith("evalkit "):
                out.append(shlex.split(line)[1:])
    assert out
    return out


def test_own_data_section_says_where_the_command_is_after_the_quick_start():
    own = _section("Using it with your own data")
    assert "source .venv/bin/activate" in own and ".venv/bin/evalkit" in own
    assert "demo_output_store/evalkit_store.duckdb" in own  # something to try the commands on at once


def test_every_own_data_command_and_option_exists():
    for args in _commands(_section("Using it with your own data")):
        name, rest = args[0], args[1:]
        assert name in cli.commands, f"README runs `evalkit {name}`, which is not a command"
        command = cli.commands[name]
        known = {opt for param in command.params if isinstance(param, click.Option) for opt in param.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"`evalkit {name}` has no option {word} (README)"


def test_the_test_suites_running_time_is_stated():
    assert re.search(r"\./scripts/test .*\(\d+ to \d+ minutes on 2 cores\)", README)
    dev = _section("Development")
    assert re.search(r"-m \"not slow\" -n 2` \(\d+ to \d+ minutes on a 2-core machine", dev)
