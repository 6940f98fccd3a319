"""The web process never imports torch: everything it loads (URLs, views, API, services) stays light."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_web_process_does_not_import_torch():
    code = (
        "import django, json, sys; django.setup();"
        "import config.urls, config.wsgi, annotation.views, annotation.projects.api, annotation.queue.api,"
        " annotation.data.api, annotation.rounds.api, annotation.rounds.views, annotation.rounds.services,"
        " annotation.tasks, annotation.admin;"
        "from django.urls import resolve; resolve('/p/x/annotate/');"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in"
        " {'torch', 'transformers', 'trl', 'peft', 'accelerate'})))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
