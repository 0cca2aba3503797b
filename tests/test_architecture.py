"""The package's shape, read from its source with `ast`: imports, layers and privacy.

Every module of ``salesql_frames`` (the sandbox included) is parsed, never imported.
Each import is resolved to the module it loads: relative imports against the importing
module's package, ``from P import name`` to ``P.name`` when that is a module (else to
``P``, its ``__init__``), and a subpackage's ``__init__`` counts as that package. Only
imports of ``salesql_frames`` modules are kept, each tagged by when it runs:

- *eager*: at module level (also inside a class body or a top-level ``try``/``if``):
  it runs while the module is being imported;
- *type-only*: under ``if TYPE_CHECKING:``: it never runs;
- *lazy*: inside a function: it runs when the function is called, after every module
  has finished importing.

The rules on import cycles:

1. The eager imports form no cycle. Such a cycle is real: which module sees the other
   half-initialized depends on which is imported first.
2. All imports together (eager, type-only and lazy) form no cycle either, except
   through the public facade: an edge *into* ``salesql_frames`` itself (its
   ``__init__``, which imports everything by design) is left out of this check when it
   is lazy or type-only. A function may import the facade at call time (the package is
   complete by then); anything else that closes a loop with a deferred import is a
   layering cycle that the deferral only hides, and is reported.

So ``Sandbox.client()`` importing ``Client`` lazily is fine (nothing in the client imports
the sandbox), and so is ``salesql_frames/__init__`` importing every layer; a lower layer
importing a higher one, even inside a function, is not.

The other rules: the client never imports the result store; only `_kinds` and the
sandbox spell kind names in comparisons (everything else asks the `KindSpec`); and no
module reaches another module's private names (private *modules* may be imported).
"""

from __future__ import annotations

import ast
import itertools
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import salesql_frames

ROOT = Path(salesql_frames.__file__).parent
PACKAGE = "salesql_frames"

When = Literal["eager", "type-only", "lazy"]


@dataclass(frozen=True)
class Import:
    """One resolved import of a package module."""

    source: str  # the importing module
    target: str  # the module it loads
    when: When
    line: int


# -- reading the package -----------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


@dataclass(frozen=True)
class Source:
    name: str
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT.parent).as_posix()


def read_package() -> dict[str, Source]:
    sources = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        sources[name] = Source(name, path, ast.parse(path.read_text("utf-8"), str(path)))
    return sources


SOURCES = read_package()
MODULES = frozenset(SOURCES)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def walk_with_context(tree: ast.AST) -> Iterator[tuple[ast.AST, When]]:
    """Every node, with when an import found there would run."""

    def visit(node: ast.AST, when: When) -> Iterator[tuple[ast.AST, When]]:
        yield node, when
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            when = "lazy"
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, "type-only")
            for child in node.orelse:
                yield from visit(child, when)
            yield from visit(node.test, when)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, when)

    yield from visit(tree, "eager")


def resolve_from(source: Source, node: ast.ImportFrom) -> str:
    """The module ``from X import ...`` names as X, absolute."""
    if node.level == 0:
        return node.module or ""
    base = package_of(source.name, source.path).split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(source: Source) -> Iterator[Import]:
    for node, when in walk_with_context(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield Import(source.name, alias.name, when, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(source, node)
            if base not in MODULES:
                continue
            targets = {f"{base}.{alias.name}" for alias in node.names} & MODULES
            if len(targets) < len(node.names):  # some names are attributes of `base`
                targets.add(base)
            for target in sorted(targets):
                yield Import(source.name, target, when, node.lineno)


IMPORTS = [imp for source in SOURCES.values() for imp in imports_of(source)]


# -- cycles ------------------------------------------------------------------------------

Graph = Mapping[str, Iterable[str]]




def find_cycle(graph: Graph) -> list[str] | None:
    """A cycle of ``graph`` as a path ``[a, b, ..., a]``, or None if it has none."""
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    for start in sorted(graph):
        if start in state:
            continue
        path, state[start] = [start], "open"
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                state[path.pop()] = "done"
            elif state.get(step) == "open":
                return [*path[path.index(step):], step]
            elif step not in state:
                path.append(step)
                state[step] = "open"
                stack.append(iter(sorted(graph.get(step, ()))))
    return None


def graph_of(imports: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in imports:
        graph[imp.source].add(imp.target)
    return graph


def describe(cycle: list[str], imports: Iterable[Import]) -> str:
    """The cycle as lines ``a -> b  (a.py:12, eager)``."""
    by_edge: dict[tuple[str, str], list[Import]] = {}
    for imp in imports:
        by_edge.setdefault((imp.source, imp.target), []).append(imp)
    lines = []
    for source, target in itertools.pairwise(cycle):
        where = ", ".join(f"{where_is(i.source)}:{i.line} {i.when}"
                          for i in by_edge.get((source, target), []))
        lines.append(f"  {source} -> {target}  ({where})")
    return "import cycle:\n" + "\n".join(lines)


def where_is(module: str) -> str:
    return SOURCES[module].rel if module in SOURCES else module


def deferred_into_facade(imp: Import) -> bool:
    """A lazy or type-only import of the public facade: allowed to close a loop."""
    return imp.target == PACKAGE and imp.when != "eager"


def test_cycle_finder_on_fake_graphs() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"x": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    # a diamond is no cycle, however it is walked
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None
    assert find_cycle({"a": {"b"}}) is None  # an edge to a node without an entry


def test_cycle_rules_on_a_synthetic_cyclic_pair() -> None:
    lower, upper = f"{PACKAGE}._lower", f"{PACKAGE}._upper"
    pair = [Import(upper, lower, "eager", 1), Import(lower, upper, "eager", 2)]
    cycle = find_cycle(graph_of_fake(pair))
    assert cycle == [lower, upper, lower]
    assert describe(cycle, pair) == (
        f"import cycle:\n  {lower} -> {upper}  ({lower}:2 eager)\n"
        f"  {upper} -> {lower}  ({upper}:1 eager)"
    )
    # deferring the back edge hides the cycle from rule 1 but not from rule 2
    lazy_back = [pair[0], Import(lower, upper, "lazy", 2)]
    assert find_cycle(graph_of_fake([i for i in lazy_back if i.when == "eager"])) is None
    kept = [i for i in lazy_back if not deferred_into_facade(i)]
    assert find_cycle(graph_of_fake(kept)) == [lower, upper, lower]
    # ...unless the deferred edge goes into the facade
    facade = [Import(PACKAGE, lower, "eager", 1), Import(lower, PACKAGE, "lazy", 2)]
    assert find_cycle(graph_of_fake([i for i in facade if not deferred_into_facade(i)])) is None
    eager_facade = [Import(PACKAGE, lower, "eager", 1), Import(lower, PACKAGE, "eager", 2)]
    assert find_cycle(graph_of_fake(eager_facade)) == [PACKAGE, lower, PACKAGE]


def graph_of_fake(imports: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).add(imp.target)
    return graph


def test_the_scanner_sees_every_kind_of_import() -> None:
    code = textwrap.dedent(
        """
        from __future__ import annotations
        from typing import TYPE_CHECKING
        from . import _constants as C
        from ._client import Client
        import salesql_frames._store
        if TYPE_CHECKING:
            from ._plan import Plan

        def later():
            from .sandbox import _server
            from .. import outside

        class Holder:
            from ._kinds import PERSON
        """
    )
    fake = Source(f"{PACKAGE}._fake", ROOT / "_fake.py", ast.parse(code))
    found = {(i.target, i.when) for i in imports_of(fake)}
    assert found == {
        (f"{PACKAGE}._constants", "eager"),
        (f"{PACKAGE}._client", "eager"),  # a subpackage's __init__ is the package
        (f"{PACKAGE}._store", "eager"),
        (f"{PACKAGE}._plan", "type-only"),
        (f"{PACKAGE}.sandbox._server", "lazy"),
        (f"{PACKAGE}._kinds", "eager"),  # a class body runs at import time
    }
    nested = Source(f"{PACKAGE}._client._fake", ROOT / "_client" / "_fake.py", ast.parse(
        "from .. import _store\nfrom .._exceptions import SalesQLError\nfrom ._retry import x\n"
    ))
    assert {i.target for i in imports_of(nested)} == {
        f"{PACKAGE}._store", f"{PACKAGE}._exceptions", f"{PACKAGE}._client._retry"
    }


def test_the_package_is_read_whole() -> None:
    assert {PACKAGE, f"{PACKAGE}._client", f"{PACKAGE}._client._sync", f"{PACKAGE}.sandbox",
            f"{PACKAGE}.sandbox._server", f"{PACKAGE}._kinds", f"{PACKAGE}._store"} <= MODULES
    assert {imp.when for imp in IMPORTS} >= {"eager", "lazy"}


def test_no_cycle_among_module_level_imports() -> None:
    eager = [imp for imp in IMPORTS if imp.when == "eager"]
    cycle = find_cycle(graph_of(eager))
    assert cycle is None, describe(cycle, eager)


def test_no_cycle_hidden_by_a_deferred_import() -> None:
    kept = [imp for imp in IMPORTS if not deferred_into_facade(imp)]
    cycle = find_cycle(graph_of(kept))
    assert cycle is None, describe(cycle, kept)


# -- the client never touches the store -------------------------------------------------

CLIENT = f"{PACKAGE}._client"
STORE = f"{PACKAGE}._store"


def in_client(module: str) -> bool:
    return module == CLIENT or module.startswith(CLIENT + ".")


def test_the_client_does_not_import_the_store() -> None:
    direct = [f"{SOURCES[i.source].rel}:{i.line}" for i in IMPORTS
              if in_client(i.source) and i.target == STORE]
    assert not direct, f"the client imports {STORE}: {direct}"


def test_the_client_does_not_reach_the_store_through_another_module() -> None:
    graph = graph_of(imp for imp in IMPORTS if not deferred_into_facade(imp))
    for start in sorted(m for m in MODULES if in_client(m)):
        path = path_between(graph, start, STORE)
        assert path is None, f"{start} depends on {STORE}: " + " -> ".join(path)


def path_between(graph: Graph, start: str, goal: str) -> list[str] | None:
    came_from: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        if node == goal:
            path = [node]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        for step in sorted(graph.get(node, ())):
            if step not in came_from:
                came_from[step] = node
                queue.append(step)
    return None


def test_path_between_on_a_fake_graph() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}
    assert path_between(graph, "d", "c") == ["d", "a", "b", "c"]
    assert path_between(graph, "c", "a") is None


# -- kind names live in _kinds -----------------------------------------------------------

KIND_NAMES = frozenset({"person", "organization", "persons", "organizations"})
#: Where kind names may be compared: the specs themselves, and the sandbox (a stand-in
#: of the server, which routes by endpoint name and is no client of the specs).
KIND_HOMES = (f"{PACKAGE}._kinds", f"{PACKAGE}.sandbox")

#: Known comparisons of kind names outside their homes, as (file, line): each is for the
#: lead to replace by a `KindSpec` attribute, then remove here.
KIND_COMPARISON_ALLOWLIST: frozenset[tuple[str, int]] = frozenset()


def string_constants(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for element in node.elts:
            yield from string_constants(element)


def match_constants(pattern: ast.pattern) -> Iterator[str]:
    if isinstance(pattern, ast.MatchValue):
        yield from string_constants(pattern.value)
    elif isinstance(pattern, ast.MatchOr):
        for option in pattern.patterns:
            yield from match_constants(option)
    elif isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        yield from match_constants(pattern.pattern)


def kind_comparisons(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of every comparison with, or ``case`` on, a kind name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                for value in string_constants(operand):
                    if value in KIND_NAMES:
                        yield node.lineno, value
        elif isinstance(node, ast.match_case):
            for value in match_constants(node.pattern):
                if value in KIND_NAMES:
                    yield node.pattern.lineno, value


def test_kind_comparisons_are_found() -> None:
    code = textwrap.dedent(
        """
        if kind == "person": pass
        if "organizations" != spec.name: pass
        if kind in ("persons", "x"): pass
        if kind == "personal": pass
        match kind:
            case "organization" | "other": pass
            case "x": pass
        """
    )
    assert sorted(kind_comparisons(ast.parse(code))) == [
        (2, "person"), (3, "organizations"), (4, "persons"), (7, "organization")
    ]


def test_only_kinds_and_the_sandbox_compare_kind_names() -> None:
    found = {
        (source.rel, line): name
        for source in SOURCES.values()
        if not any(source.name == home or source.name.startswith(home + ".")
                   for home in KIND_HOMES)
        for line, name in kind_comparisons(source.tree)
    }
    new = {where: name for where, name in found.items() if where not in KIND_COMPARISON_ALLOWLIST}
    assert not new, f"kind names compared outside {KIND_HOMES} (ask the KindSpec): {new}"
    stale = KIND_COMPARISON_ALLOWLIST - found.keys()
    assert not stale, f"fixed: remove from KIND_COMPARISON_ALLOWLIST: {sorted(stale)}"


# -- private names stay private ----------------------------------------------------------

#: Known reaches into another module's private names, as (file, line): each is for the
#: lead to make public (or move), then remove here.
PRIVATE_ACCESS_ALLOWLIST: frozenset[tuple[str, int]] = frozenset()


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_aliases(source: Source) -> dict[str, str]:
    """Local names bound to package modules, in any scope: name -> module."""
    aliases: dict[str, str] = {}
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.partition(".")[0]
                        aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(source, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def private_access(source: Source) -> Iterator[tuple[int, str]]:
    """(line, what) of every use of another package module's private name."""
    aliases = module_aliases(source)

    def module_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            parent = module_of(node.value)
            if parent is not None and f"{parent}.{node.attr}" in MODULES:
                return f"{parent}.{node.attr}"
        return None

    for node in ast.walk(source.tree):
        if isinstance(node, ast.ImportFrom):
            base = resolve_from(source, node)
            if base not in MODULES:
                continue
            for alias in node.names:
                if is_private(alias.name) and f"{base}.{alias.name}" not in MODULES:
                    yield node.lineno, f"from {base} import {alias.name}"
        elif isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = module_of(node.value)
            if owner is not None and f"{owner}.{node.attr}" not in MODULES:
                yield node.lineno, f"{owner}.{node.attr}"


def test_private_access_is_found() -> None:
    code = textwrap.dedent(
        """
        from . import _constants as C
        from ._client import Client, _helper
        from ._version import __version__
        from .sandbox import _server
        import salesql_frames._store as store
        import salesql_frames

        C.MAX_RETRIES, C._SECRET
        store._connect()
        salesql_frames._store._connect
        salesql_frames._client
        _server.Sandbox, _server._POLL_INTERVAL
        Client._private  # an attribute of a class, not of a module: not this rule
        """
    )
    fake = Source(f"{PACKAGE}._fake", ROOT / "_fake.py", ast.parse(code))
    assert sorted(private_access(fake)) == [
        (3, f"from {PACKAGE}._client import _helper"),
        (9, f"{PACKAGE}._constants._SECRET"),
        (10, f"{PACKAGE}._store._connect"),
        (11, f"{PACKAGE}._store._connect"),
        (13, f"{PACKAGE}.sandbox._server._POLL_INTERVAL"),
    ]


def test_no_module_reaches_into_another_modules_private_names() -> None:
    found = {(source.rel, line): what for source in SOURCES.values()
             for line, what in private_access(source)}
    new = {where: what for where, what in found.items() if where not in PRIVATE_ACCESS_ALLOWLIST}
    assert not new, f"private names used outside their module: {new}"
    stale = PRIVATE_ACCESS_ALLOWLIST - found.keys()
    assert not stale, f"fixed: remove from PRIVATE_ACCESS_ALLOWLIST: {sorted(stale)}"
