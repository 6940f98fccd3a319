"""The annotator loop under load with locust (issue 14): N annotators (50 by default) work for S seconds (600)
through gunicorn configured as docker-compose runs it (3 gthread workers x 4 threads), by
benchmarks/locustfile.py; then the database is checked: every acknowledged submission is there exactly once
(0 lost), no comparison holds more live annotations than wanted (0 counted twice), no retry made a second
annotation, and no request failed (0 5xx). Prints p50/p99 per endpoint from locust's own statistics.

    .venv/bin/python benchmarks/load.py --users 50 --seconds 600

It uses its own database (<DATABASE_URL's name>_bench), like the other benchmarks. The per-user submit rate
limit is off (locust users work at a script's pace, not a person's); tests/test_load.py runs a short version.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "benchmarks" / "locustfile.py"


def run_locust(*, host: str, tokens: list[str], slug: str, users: int, seconds: int, workdir: Path) -> dict:
    """Run the locustfile headless; returns per-endpoint stats and the failures, read from its CSV files."""
    tokens_file = workdir / "tokens.json"
    tokens_file.write_text(json.dumps(tokens))
    acks = workdir / "acks.jsonl"
    acks.write_text("")
    env = {
        **os.environ,
        "PREFER_LOAD_TOKENS": str(tokens_file),
        "PREFER_LOAD_ACKS": str(acks),
        "PREFER_LOAD_PROJECT": slug,
    }
    subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
            "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
            "--csv", str(workdir / "load"), "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0",
        ],
        check=True, env=env, cwd=ROOT, timeout=seconds + 120,
    )  # fmt: skip
    endpoints = {}
    with (workdir / "load_stats.csv").open() as stats:
        for row in csv.DictReader(stats):
            endpoints[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": float(row["50%"] or "nan"),
                "p99_ms": float(row["99%"] or "nan"),
            }
    with (workdir / "load_failures.csv").open() as failures:
        failed = [
            {"name": row["Name"], "error": row["Error"], "count": int(row["Occurrences"])}
            for row in csv.DictReader(failures)
        ]
    acknowledged = [json.loads(line) for line in acks.read_text().splitlines() if line]
    return {"endpoints": endpoints, "failures": failed, "acknowledged": acknowledged}


def check_counts(project, acknowledged: list[dict]) -> dict:  # type: ignore[no-untyped-def]
    """What the database says about the acknowledged submissions: lost, doubled, over-counted."""
    from django.db.models import Count, F, Q

    from annotation.models import Annotation, Comparison

    tokens = {ack["token"] for ack in acknowledged}
    stored = dict(
        Annotation.objects.filter(project=project, client_token__in=tokens).values_list("client_token", "id")
    )
    lost = [ack for ack in acknowledged if stored.get(ack["token"]) != ack["id"]]
    doubled = (
        Annotation.objects.filter(project=project, is_live=True)
        .values("comparison_id", "annotator_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    live = Count("annotations", filter=Q(annotations__is_live=True))
    over = (
        Comparison.objects.filter(project=project)
        .annotate(live=live)
        .filter(Q(live__gt=F("annotations_wanted")) | Q(annotations_received__gt=F("annotations_wanted")))
        .count()
    )
    return {
        "acknowledged": len(acknowledged),
        "distinct": len(tokens),
        "lost": len(lost),
        "doubled": doubled,
        "over_counted": over,
    }


def annotator_tokens(project, users: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`users` annotators of the project, one fresh API token each."""
    import uuid

    from django.contrib.auth import get_user_model

    from annotation.accounts.tokens import token_create
    from annotation.models import Role
    from annotation.projects.services import membership_set, user_create

    tokens = []
    for index in range(users):
        username = f"load-{project.slug}-{index}"
        user = get_user_model().objects.filter(username=username).first() or user_create(
            username=username, password=uuid.uuid4().hex
        )
        membership_set(project=project, username=username, role=Role.ANNOTATOR)
        tokens.append(token_create(user=user, name="load", days=1).key)
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--comparisons", type=int, default=100_000)
    args = parser.parse_args()

    from benchmarks.annotate_loop import seed
    from benchmarks.serving import bench_django, start_gunicorn

    bench_django(fast_passwords=True)

    project = seed(args.comparisons)
    tokens = annotator_tokens(project, args.users)
    server, port = start_gunicorn(workers=3, threads=4, timeout=600)  # docker-compose's web service
    print(
        f"# locust: {args.users} annotators for {args.seconds} s, gunicorn gthread 3x4, {os.cpu_count()} CPUs"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="prefer-load-") as workdir:
            result = run_locust(
                host=f"http://127.0.0.1:{port}", tokens=tokens, slug=project.slug, users=args.users,
                seconds=args.seconds, workdir=Path(workdir),
            )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, row in result["endpoints"].items():
        print(
            f"endpoint={name:<22} requests={row['requests']:>7} failures={row['failures']:>4} "
            f"p50={row['p50_ms']:>6.0f}ms p99={row['p99_ms']:>6.0f}ms"
        )
    for failure in result["failures"]:
        print(f"failure {failure['name']}: {failure['error']} x{failure['count']}")
    print("counts", json.dumps(check_counts(project, result["acknowledged"])))


if __name__ == "__main__":
    main()
