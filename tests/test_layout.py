"""The layout is a map a newcomer can trust: every part of the hotline is in the README's
"Map of the code", and the imports keep the layering the map describes.

- The webhooks (ivr/voice), the operators' page (ivr/operators/web) and the CLI (ivr/cli) call
  the hotline's parts; none of the parts imports them, and they do not import each other.
  Only the app factory (ivr/__init__.py) wires them together.
- One module talks to Twilio's REST API (ivr/twilio/rest_api.py), one to Telegram's Bot API
  (ivr/telegram/bot_api.py); one reads Twilio's webhook
  parameters and signatures (ivr/twilio/webhook_request.py): the webhooks never read the
  request's form or headers themselves, and never run a query.
- One way to open a unit of work outside Flask-SQLAlchemy's request session:
  ivr.database.unit_of_work.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "ivr"
README = (PROJECT_ROOT / "README.md").read_text()
EDGES = ("ivr.voice", "ivr.operators.web", "ivr.chat.web", "ivr.telegram.web", "ivr.cli")
APP_FACTORY = "ivr"
REST_CLIENTS = ("twilio.rest", "twilio.http", "twilio.base", "requests")
# One module talks to each outside service's REST API.
REST_MODULES = ("ivr.twilio.rest_api", "ivr.telegram.bot_api")
UNIT_OF_WORK_HOME = ("ivr.database", "ivr.migrations.env")


@dataclass(frozen=True)
class Module:
    name: str  # dotted: ivr.voice.menu
    path: Path
    tree: ast.Module

    def within(self, package: str) -> bool:
        return self.name == package or self.name.startswith(package + ".")


def modules() -> list[Module]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        if "versions" in parts:
            continue  # migrations: generated, and they must not import the app's code
        found.append(Module(".".join(parts), path, ast.parse(path.read_text(), str(path))))
    return found


MODULES = modules()
NAMES = {module.name for module in MODULES}


def imports_of(module: Module) -> Iterator[tuple[int, str]]:
    """Every module this one imports, by dotted name (`from a import b` is a.b if b is a
    module of ours, else a), with the line it is imported on."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                yield node.lineno, dotted if dotted in NAMES else node.module


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def edge_of(name: str) -> str | None:
    return next((edge for edge in EDGES if within(name, edge)), None)


def test_the_finder_sees_the_parts() -> None:
    assert {"ivr.voice.menu", "ivr.operators.web.views", "ivr.cli", "ivr.menu.journey",
            "ivr.twilio.rest_api"} <= NAMES
    voice = next(module for module in MODULES if module.name == "ivr.voice.menu")
    assert "ivr.voice.answering" in {name for _line, name in imports_of(voice)}


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.name)
def test_only_the_app_factory_wires_the_webhooks_the_page_and_the_cli(module: Module) -> None:
    """The parts of the hotline never import a view, a blueprint, the page or a command, and
    the three edges do not import each other."""
    if module.name == APP_FACTORY:
        return
    mine = edge_of(module.name)
    wrong = [f"line {line}: {name}" for line, name in imports_of(module)
             if (edge := edge_of(name)) is not None and edge != mine]
    assert wrong == [], f"{module.name} imports {wrong}"


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.name)
def test_one_module_talks_to_twilios_rest_api(module: Module) -> None:
    if module.name in REST_MODULES:
        return
    wrong = [f"line {line}: {name}" for line, name in imports_of(module)
             if any(within(name, client) for client in REST_CLIENTS)]
    assert wrong == [], f"{module.name} imports {wrong}"


VOICE = [module for module in MODULES if module.within("ivr.voice")]


@pytest.mark.parametrize("module", VOICE, ids=lambda module: module.name)
def test_webhooks_read_twilios_parameters_through_one_module(module: Module) -> None:
    """Twilio's form, headers and signature are read in ivr/twilio/webhook_request.py only."""
    touched = [f"line {node.lineno}: request.{node.attr}" for node in ast.walk(module.tree)
               if isinstance(node, ast.Attribute) and node.attr in ("form", "values", "headers")
               and isinstance(node.value, ast.Name) and node.value.id == "request"]
    assert touched == [], f"{module.name} reads {touched}"


@pytest.mark.parametrize("module", VOICE, ids=lambda module: module.name)
def test_webhooks_run_no_query_of_their_own(module: Module) -> None:
    wrong = [f"line {line}: {name}" for line, name in imports_of(module)
             if within(name, "sqlalchemy")]
    assert wrong == [], f"{module.name} imports {wrong}"


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.name)
def test_one_way_to_open_a_unit_of_work(module: Module) -> None:
    """Outside Flask-SQLAlchemy's request session, a transaction is opened with
    ivr.database.unit_of_work: no engine.begin(), engine.connect() or Session(engine)."""
    if module.name in UNIT_OF_WORK_HOME:
        return
    source = module.path.read_text()
    opened = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if (isinstance(function, ast.Attribute) and function.attr in ("begin", "connect")
                and "engine" in (ast.get_source_segment(source, function.value) or "")):
            opened.append(f"line {node.lineno}: {ast.get_source_segment(source, node)}")
        if (isinstance(function, ast.Name) and function.id == "Session"
                and not any(keyword.arg == "bind" for keyword in node.keywords)):
            opened.append(f"line {node.lineno}: {ast.get_source_segment(source, node)}")
    assert opened == [], f"{module.name} opens {opened}"


MAP_HEADING = re.compile(r"^### `ivr/(?P<package>[\w/]*)`", re.MULTILINE)
MAP_ITEM = re.compile(r"^- `(?P<name>[\w.]+\.py)`", re.MULTILINE)


def the_map() -> dict[str, set[str]]:
    """README's "Map of the code": package folder → the modules it lists."""
    section = README.split("## Map of the code", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    headings = list(MAP_HEADING.finditer(section))
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(section)
        listed[heading["package"].rstrip("/")] = set(
            MAP_ITEM.findall(section[heading.end():end]))
    return listed


def on_disk() -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module in MODULES:
        folder = module.path.parent.relative_to(PACKAGE).as_posix()
        folder = "" if folder == "." else folder
        if folder.startswith("migrations"):
            packages.setdefault("migrations", set())
            continue
        packages.setdefault(folder, set()).add(module.path.name)
    return packages


def test_the_readme_has_a_map_of_the_code() -> None:
    assert "## Map of the code" in README
    assert {"", "voice", "menu", "callback_requests", "operators", "operators/web"} <= set(
        the_map())


@pytest.mark.parametrize("package", sorted(on_disk()), ids=lambda name: name or "ivr")
def test_every_package_and_module_is_on_the_map(package: str) -> None:
    listed = the_map()
    assert package in listed, f"ivr/{package}/ has no heading in the README's Map of the code"
    missing = on_disk()[package] - listed[package]
    assert not missing, f"ivr/{package}: {sorted(missing)} not in the README's Map of the code"


def test_the_map_names_nothing_that_is_gone() -> None:
    disk = on_disk()
    gone = {f"ivr/{package}": sorted(names - disk.get(package, set()))
            for package, names in the_map().items() if names - disk.get(package, set())}
    gone.update({f"ivr/{package}": ["(the folder)"] for package in the_map()
                 if package not in disk})
    assert gone == {}
