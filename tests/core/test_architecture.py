"""The skeleton's rules, checked on the source: layers, domains apart, no import circles, no
hidden imports, doors that never commit."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "facilities", "library", "archive")
DOMAINS = ("facilities", "library", "archive")
# What the rules of a domain may not see: the web framework and the HTTP door helpers.
WEB_MODULES = ("flask", "flask_smorest", "webargs", "core.http")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


SOURCES = _sources()


def _imports(name: str, path: Path) -> list[tuple[ast.stmt, str]]:
    """Every import statement of a module with each module it names (relative ones resolved;
    ``from a import b`` names ``a.b`` when that is a module of ours, else ``a``)."""
    found = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((node, candidate if candidate in SOURCES else base))
    return found


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _rule_modules() -> list[str]:
    """Modules that hold the domains' rules and tables: every ``services`` package, and
    ``models``."""
    return [
        name
        for name in SOURCES
        if ".services" in f".{name}" or name.endswith(".models") or name == "core.services"
    ]


@pytest.mark.parametrize("module", _rule_modules())
def test_rules_and_tables_never_import_the_web(module):
    bad = [
        imported
        for _, imported in _imports(module, SOURCES[module])
        if any(_is_under(imported, web) for web in WEB_MODULES)
    ]
    assert bad == [], f"{module} imports {bad}: doors pass in what rules need"


def test_rule_modules_are_found_in_every_domain():
    # The check above must not pass because it found nothing to check.
    for domain in DOMAINS:
        assert any(m.startswith(f"{domain}.services.") for m in _rule_modules()), domain


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains_never_import_each_other(domain):
    others = [d for d in DOMAINS if d != domain]
    bad = {
        (module, imported)
        for module, path in SOURCES.items()
        if _is_under(module, domain)
        for _, imported in _imports(module, path)
        if any(_is_under(imported, other) for other in others)
    }
    assert bad == set()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing
    itself (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def _import_graph() -> dict[str, set[str]]:
    return {
        name: {imported for _, imported in _imports(name, path) if imported in SOURCES}
        for name, path in SOURCES.items()
    }


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["e"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_anywhere_in_the_app():
    # Imports inside functions count too: a circle dodged at run time is still a circle.
    assert _cycles(_import_graph()) == []


def _function_imports(path: Path):
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines), str(path))
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    yield node, lines[node.lineno - 1]


def test_imports_inside_functions_say_why():
    silent = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in SOURCES.values()
        for node, line in _function_imports(path)
        if "#" not in line
    ]
    assert silent == [], "an import inside a function needs a comment saying why"


DOOR_NAMES = ("api", "pages", "cli", "jobs", "demo", "iiif", "oai")
# Doors that are packages of their own: a protocol's codec, handlers and server (SIP2).
DOOR_PACKAGES = ("sip2",)


def _is_door(module: str) -> bool:
    parts = module.split(".")
    return any(parts[-1] == name or parts[-1].endswith(f"_{name}") for name in DOOR_NAMES) or any(
        part in DOOR_PACKAGES for part in parts[1:]
    )


def test_doors_never_commit_by_hand():
    # Requests, commands, jobs and SIP2 messages are units of work (core.transactions): they
    # commit once.
    doors = [name for name in SOURCES if _is_door(name)]
    assert len(doors) >= 10
    assert {"library.sip2.handlers", "library.sip2.server", "library.cli"} <= set(doors)
    assert not {"library.services.kiosks", "library.models", "core.http"} & set(doors)
    committing = [
        name
        for name in doors
        for node in ast.walk(ast.parse(SOURCES[name].read_text()))
        if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback")
    ]
    assert committing == []


def _schema_modules() -> list[str]:
    return [name for name in SOURCES if name.rpartition(".")[2].endswith("schemas")]


@pytest.mark.parametrize("module", _schema_modules())
def test_schemas_never_query(module):
    """Schemas shape what a service returned; they reach neither the database nor services."""
    bad = [
        imported
        for _, imported in _imports(module, SOURCES[module])
        if imported == "core.extensions"
        or ".services" in f".{imported}"
        or imported in ("core.services", "core.lookup")
    ]
    assert bad == []


def _declared_requirements() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = parser["options"]["install_requires"].splitlines()
    names = (re.split(r"[<>=!\[; ]", line.strip(), maxsplit=1)[0] for line in lines)
    return {_normalized(name) for name in names if name and not name.startswith("#")}


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_package_the_app_imports_is_declared():
    ours = {package for package in PACKAGES}
    imported = {
        module.split(".")[0]
        for name, path in SOURCES.items()
        for _, module in _imports(name, path)
        if module.split(".")[0] not in ours
    } - set(sys.stdlib_module_names)
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        module: distributions.get(module)
        for module in imported
        if not {_normalized(d) for d in distributions.get(module, [])} & _declared_requirements()
    }
    assert undeclared == {}, "declare these in setup.cfg's install_requires"
