"""Dependencies run one way: ``files/`` (file work) never imports the HTTP side, and the
triggerer, which loads the trigger and through it the hook, never loads numpy, pyarrow or
pandas."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import x_compliance

PACKAGE = Path(x_compliance.__file__).parent
HEAVY = ("numpy", "pyarrow", "pandas")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_files_imports_nothing_that_speaks_http():
    files = sorted((PACKAGE / "files").glob("*.py"))
    assert len(files) > 5
    wrong = {
        f"{path.name}: {name}"
        for path in files
        for name in _imported_modules(path)
        if name.startswith(("x_compliance.hooks", "x_compliance.operators", "x_compliance.triggers"))
    }
    assert not wrong


def _heavy_modules_after(statements: str) -> list[str]:
    """The numpy, pyarrow and pandas modules a fresh interpreter holds after ``statements``."""
    script = f"""{statements}
import json, sys
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {HEAVY!r})))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_triggerer_loads_no_numpy_pyarrow_or_pandas():
    assert _heavy_modules_after("import x_compliance.triggers.job") == []
    # The check can fail: checking a block of IDs does load numpy.
    checked = "from x_compliance.files.ids import count_id_lines\ncount_id_lines(b'1\\n')"
    assert "numpy" in _heavy_modules_after(checked)
