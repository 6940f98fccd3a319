import pkgutil
import subprocess
import sys
from pathlib import Path

import training

ROOT = Path(__file__).resolve().parents[2]


def test_every_training_module_imports_without_django_or_the_web_app():
    modules = sorted(
        f"training.{m.name}" for m in pkgutil.iter_modules(training.__path__) if m.name != "__main__"
    )
    assert {"training.ppo", "training.reward", "training.dpo", "training.cli"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "web = ('django', 'celery', 'annotation', 'config', 'rest_framework')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in web)\n"
        "print('LOADED', len(sys.modules)); print('BAD', bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "BAD []" in result.stdout, result.stdout


def test_importing_the_package_root_does_not_import_torch():
    code = "import sys, training; print('TORCH', 'torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "TORCH False" in result.stdout
