"""The package's layers (docs/architecture.md): each imports only the layers below it, with no cycles."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nnapp"
# lower number = lower layer; a module may import its own layer and any lower one, never a higher one
LAYERS = {
    "errors": 0,
    "version": 0,
    "config": 0,
    "core": 1,
    "data": 2,
    "training": 3,
    "rundir": 4,
    "pictures": 4,
    "orchestration": 5,
    "lab": 6,
    "tools": 7,  # the notebook API (tools.notebook) offers the lab's saliency and attack
    "estimator": 8,
    "cli": 9,
}
FACADE = {"nnapp", "nnapp.__main__"}  # the notebook API and `python -m nnapp` sit on top of everything


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else -1


def nnapp_imports(path: Path, runtime_only: bool = False) -> set[str]:
    """Every nnapp module `path` imports, at module level or inside functions (with `runtime_only`, not
    those under `if TYPE_CHECKING:`, which exist for annotations and run no code)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(inner) for inner in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "nnapp" or node.module.startswith("nnapp."):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if MODULES.get(candidate) else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "nnapp"}
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_no_relative_imports():
    relative = [
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not relative, f"use absolute nnapp.<layer> imports: {relative}"


def test_every_module_sits_in_a_known_layer():
    unknown = [m for m in MODULES if m not in FACADE and m.split(".")[1] not in LAYERS]
    assert not unknown


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{m} -> {target}"
        for m, path in MODULES.items()
        if m not in FACADE
        for target in nnapp_imports(path)
        if target not in FACADE and layer(target) > layer(m)
    ]
    assert not upward, f"upward imports: {upward}"


def test_the_import_graph_has_no_cycle():
    graph = {
        m: {t for t in nnapp_imports(p, runtime_only=True) if t in MODULES and t != m}
        for m, p in MODULES.items()
    }
    graph = {
        m: {t for t in targets if t not in FACADE and not m.startswith(t + ".")}
        for m, targets in graph.items()
    }
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for t in graph.get(m, ()):
            assert state.get(t) != 1, f"import cycle: {' -> '.join([*trail, m, t])}"
            if t not in state:
                visit(t, [*trail, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_only_the_cli_prints_or_imports_typer_and_rich():
    offenders = []
    for m, path in MODULES.items():
        if m.startswith("nnapp.cli") or m in FACADE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{m}: print")
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{m}: imports {n}" for n in names if n.split(".")[0] in ("typer", "rich", "click")]
    assert not offenders


def test_modules_and_functions_stay_small():
    too_long = []
    for m, path in MODULES.items():
        source = path.read_text()
        if len(source.splitlines()) > 400:
            too_long.append(f"{m}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    too_long.append(f"{m}.{node.name}: {length} lines")
    assert not too_long, too_long
