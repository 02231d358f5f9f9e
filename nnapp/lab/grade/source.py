"""Reading a learner's file before it runs: code that cannot run here is named, with its line and the fix.

Python 2 (a `print` statement), a name NumPy 2 removed (`np.product`, `np.float`, `np.asscalar`, ...) and
a name used but never imported or defined (`np` without `import numpy as np`). Found from the source, so
the message does not depend on how far a run would get before tripping over it.
"""

from __future__ import annotations

import ast
import builtins
import re
import threading

# removed from the NumPy namespace (in 1.24 for the builtin aliases, in 2.0 for the rest) -> replacement
NUMPY2_REMOVED = {
    "product": "np.prod",
    "cumproduct": "np.cumprod",
    "sometrue": "np.any",
    "alltrue": "np.all",
    "asscalar": "a.item()",
    "float": "float (or np.float64)",
    "int": "int (or np.int64)",
    "object": "object",
    "complex": "complex",
    "str": "str",
    "long": "int",
    "unicode": "str",
    "float_": "np.float64",
    "complex_": "np.complex128",
    "unicode_": "np.str_",
    "string_": "np.bytes_",
    "NaN": "np.nan",
    "NAN": "np.nan",
    "Inf": "np.inf",
    "Infinity": "np.inf",
    "infty": "np.inf",
    "PINF": "np.inf",
    "NINF": "-np.inf",
    "round_": "np.round",
    "msort": "np.sort(a, axis=0)",
    "asfarray": "np.asarray(a, dtype=float)",
    "alen": "len(a)",
    "mat": "np.asmatrix",
    "issubclass_": "issubclass",
    "cast": "a.astype(dtype)",
}
USUAL_IMPORTS = {"np": "import numpy as np", "numpy": "import numpy", "math": "import math"}
MODULE_NAMES = {"__file__", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__"}
# CPython 3.11's ast.parse keeps a process-wide recursion counter: two threads parsing at once (a class
# graded with --jobs 2) can raise "SystemError: AST constructor recursion depth mismatch"
PARSING = threading.Lock()
PY2_PRINT = re.compile(r"^\s*print(\s+[^\s(=]|\s*$)")


def problem(source: str, filename: str) -> str:
    """One line saying why this source cannot run here, or "" when nothing is found."""
    try:
        with PARSING:
            tree = ast.parse(source, filename)
    except SyntaxError as exc:
        return _syntax(source, exc)
    return _numpy2(tree) or _unbound(tree)


def _syntax(source: str, exc: SyntaxError) -> str:
    for number, line in enumerate(source.splitlines(), start=1):
        if PY2_PRINT.match(line):
            return (
                f"line {number}: `{line.strip()}` is a Python 2 print statement; this is Python 3, "
                "where print is a function: print(...)"
            )
    return f"line {exc.lineno}: SyntaxError: {exc.msg}"


def _numpy_aliases(tree: ast.AST) -> set[str]:
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "numpy"}
    return aliases


def _numpy2(tree: ast.AST) -> str:
    aliases = _numpy_aliases(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr in NUMPY2_REMOVED
        ):
            name = f"{node.value.id}.{node.attr}"
            return f"line {node.lineno}: {name} was removed in NumPy 2; use {NUMPY2_REMOVED[node.attr]}"
    return ""


def _bound(tree: ast.AST) -> set[str]:
    names = set(dir(builtins)) | MODULE_NAMES
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names |= set(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
    return names


def _unbound(tree: ast.AST) -> str:
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return ""  # `from x import *` binds names we cannot see
    bound = _bound(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            fix = USUAL_IMPORTS.get(node.id)
            advice = (
                f": add `{fix}` at the top of the file" if fix else ", which is never imported or defined"
            )
            return f"line {node.lineno}: uses `{node.id}`{advice}"
    return ""
