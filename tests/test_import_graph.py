"""Every import goes one way (ARCHITECTURE.md): no import cycle anywhere in annotation/, config/ or training/,
counting imports inside functions (a late import that hides a cycle is a cycle), and the layers only point
down: doors (API, views, tasks, commands, admin, URLs) -> services/selectors -> models, and training/ never
back to the web app.

The graph is read from the source with `ast`, not from what happens to be imported at run time, so an import
inside a function that never ran in this test process counts too."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("annotation", "config", "training")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


MODULES = {_module_name(path): path for path in _source_files()}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports(module: str) -> set[str]:
    """The modules of ours that `module` imports anywhere in its body. `from x import y` is an import of the
    module x.y when x.y is a module (a submodule), else of x."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    ours = set()
    for name in found:
        # `import a.b.c` of a module of ours, or of something inside one (a.b.c.attr is not a module)
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            ours.add(name)
    return ours


GRAPH = {module: _imports(module) for module in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (iterative depth-first search, three colours)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for root in sorted(graph):
        if colour[root] != WHITE:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        colour[root] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = BLACK
                stack.pop()
            elif colour[child] == GREY:
                path = [name for name, _ in stack]
                return [*path[path.index(child) :], child]
            elif colour[child] == WHITE:
                colour[child] = GREY
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_the_graph_sees_the_modules_and_function_local_imports():
    # The reader itself must work, or the tests below pass for nothing.
    assert {"annotation.models", "annotation.rounds.runner", "config.settings", "training.ppo"} <= set(GRAPH)
    assert "annotation.rounds.protocol" in GRAPH["annotation.rounds.runner"]
    assert "training.reward" in GRAPH["annotation.rounds.stages.reward_model"]  # imported inside a function
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_annotation_config_or_training():
    cycle = _find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


WEB = ("django", "celery", "rest_framework", "annotation", "config")


def _all_imports(module: str) -> set[str]:
    """Every top-level name imported anywhere in the module, ours or not (for the training boundary)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_training_imports_nothing_of_the_web_app():
    offenders = {
        module: sorted(_all_imports(module) & set(WEB)) for module in MODULES if module.startswith("training")
    }
    assert {module: bad for module, bad in offenders.items() if bad} == {}


def _is_door(module: str) -> bool:
    """API endpoints, page views, Celery tasks, management commands, the admin, URLs and the REST plumbing:
    what the outside world calls. Everything else in annotation/ is a service, selector or model."""
    parts = module.split(".")
    return parts[0] == "annotation" and (
        parts[-1] in {"api", "views", "tasks", "admin", "urls", "rest", "serializers", "apps"}
        or "management" in parts
    )


def test_services_and_selectors_never_import_doors():
    offenders = {
        module: sorted(target for target in GRAPH[module] if _is_door(target))
        for module in MODULES
        if module.startswith("annotation") and not _is_door(module)
    }
    assert {module: doors for module, doors in offenders.items() if doors} == {}


def test_models_import_no_services_selectors_or_doors():
    offenders = {
        module: sorted(
            t for t in GRAPH[module] if t.startswith("annotation") and not t.startswith("annotation.models")
        )
        for module in MODULES
        if module.startswith("annotation.models")
    }
    assert {module: bad for module, bad in offenders.items() if bad} == {}
