"""The annotator's loop under load: next + submit through the real REST views and Postgres.

For each number of concurrent annotators (1, 8, 50 by default) every annotator thread repeats
POST tasks/next -> POST tasks/{id}/annotations/ for a fixed time over a project of N comparisons, and the
script prints loops/s, p50/p99 of each call, and the duplicate assignments found afterwards (must be 0).
A second mode measures the page's real path, submit-with-?next=1 (one round trip per comparison).
With --peer label-studio the same loop is then run against Label Studio (its next-task and annotation API,
same sizes, annotators and seconds; see benchmarks/peer_label_studio.py), lines tagged by system=.

It uses its own database (<DATABASE_URL's name>_bench) and never touches the dev data:

    .venv/bin/python benchmarks/annotate_loop.py --comparisons 100000 --seconds 10
    .venv/bin/python benchmarks/annotate_loop.py --comparisons 100000 --seconds 10 --peer label-studio
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from benchmarks.peer_label_studio import LabelStudioPeer
from benchmarks.serving import Annotator, bench_database_url, bench_django, closed_loop, start_gunicorn

SEED_SQL = """
WITH p AS (
    INSERT INTO annotation_prompt (project_id, external_id, messages, split, metadata, created_at)
    SELECT %(project)s, 'bench-' || g, jsonb_build_array(jsonb_build_object('role', 'user', 'content',
           'Question number ' || g || ': explain something useful in two short paragraphs.')),
           'train', '{}'::jsonb, now()
    FROM generate_series(1, %(n)s) g
    RETURNING id
), r AS (
    INSERT INTO annotation_response (prompt_id, public_id, text, source_model, generation_params, created_at)
    SELECT p.id, gen_random_uuid(), 'Response ' || k || E' with **markdown** and a list:\n\n- one\n- two',
           'bench-' || k, '{}'::jsonb, now()
    FROM p CROSS JOIN generate_series(1, 2) k
    RETURNING id, prompt_id
), c AS (
    INSERT INTO annotation_comparison (project_id, prompt_id, is_gold, status, annotations_wanted,
                                       annotations_received, created_at)
    SELECT %(project)s, p.id, false, 'open', 1, 0, now() FROM p ORDER BY p.id
    RETURNING id, prompt_id
)
INSERT INTO annotation_comparisonitem (comparison_id, response_id, position)
SELECT c.id, r.id, row_number() OVER (PARTITION BY c.id ORDER BY random()) - 1
FROM c JOIN r ON r.prompt_id = c.prompt_id
"""


def seed(n: int):  # type: ignore[no-untyped-def]
    from django.db import connection, transaction

    from annotation.models import Comparison, Project
    from annotation.projects.services import project_create

    slug = f"bench-{n}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None and Comparison.objects.filter(project=project, status="open").count() < n:
        # An earlier run used part of the queue: start again from n open comparisons.
        _empty(project.pk)
    if project is None or not Comparison.objects.filter(project=project).exists():
        project = project or project_create(slug=slug, name=f"Benchmark {n}", overlap=1, lease_seconds=600)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(SEED_SQL, {"project": project.pk, "n": n})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"seeded {n} comparisons in {time.perf_counter() - started:.1f} s", flush=True)
    open_count = Comparison.objects.filter(project=project, status="open").count()
    print(f"project {slug}: {open_count} open comparisons", flush=True)
    return project


def _empty(project_id: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (
            "DELETE FROM annotation_annotation WHERE project_id = %(p)s",
            "DELETE FROM annotation_assignment WHERE project_id = %(p)s",
            "DELETE FROM annotation_comparisonitem WHERE comparison_id IN "
            "(SELECT id FROM annotation_comparison WHERE project_id = %(p)s)",
            "DELETE FROM annotation_comparison WHERE project_id = %(p)s",
            "DELETE FROM annotation_response WHERE prompt_id IN "
            "(SELECT id FROM annotation_prompt WHERE project_id = %(p)s)",
            "DELETE FROM annotation_prompt WHERE project_id = %(p)s",
        ):
            cursor.execute(sql, {"p": project_id})


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_level(project, port: int, annotators: int, seconds: float, combined: bool) -> dict:  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    from annotation.accounts.tokens import token_create
    from annotation.models import Role
    from annotation.projects.services import membership_set, user_create

    tokens = []
    for index in range(annotators):
        username = f"bench-{project.slug}-{index}"
        user = get_user_model().objects.filter(username=username).first() or user_create(
            username=username, password=uuid.uuid4().hex
        )
        membership_set(project=project, username=username, role=Role.ANNOTATOR)
        tokens.append(token_create(user=user, name="benchmark", days=1).key)

    next_path = f"/api/v1/projects/{project.slug}/tasks/next/"

    def step(annotator: Annotator) -> bool:
        if annotator.task is None:
            status, annotator.task = annotator.call("POST", next_path, {}, "next")
            if status == 204:
                return False
        task = annotator.task
        assert task is not None
        ids = [r["id"] for r in task["responses"]]
        body = {"ranking": [[ids[0]], [ids[1]]], "strength": "clear", "client_token": uuid.uuid4().hex}
        path = f"/api/v1/tasks/{task['id']}/annotations/" + ("?next=1" if combined else "")
        status, payload = annotator.call("POST", path, body, "submit")
        if status != 201 or payload is None:
            annotator.errors.append(f"{status}: {str(payload)[:200]}")
            return False
        annotator.loops += 1
        annotator.task = payload.get("next") if combined else None
        return not combined or annotator.task is not None

    return _summary(**closed_loop(port, tokens, seconds, step))  # type: ignore[arg-type]


def _summary(
    loops: int, elapsed: float, next_ms: list[float], submit_ms: list[float], errors: list[str]
) -> dict:
    return {
        "loops_per_s": loops / elapsed,
        "next_p50": _percentile(next_ms, 0.50),
        "next_p99": _percentile(next_ms, 0.99),
        "submit_p50": _percentile(submit_ms, 0.50),
        "submit_p99": _percentile(submit_ms, 0.99),
        "errors": errors[:3],
    }


def _line(system: str, n: int, annotators: int, label: str, result: dict) -> str:
    return (
        f"system={system:<12} comparisons={n} annotators={annotators:>2} mode={label:<13} "
        f"loops/s={result['loops_per_s']:7.1f} "
        f"next_p50={result['next_p50']:6.1f}ms next_p99={result['next_p99']:6.1f}ms "
        f"submit_p50={result['submit_p50']:6.1f}ms submit_p99={result['submit_p99']:6.1f}ms"
        + (f" errors={result['errors']}" if result["errors"] else "")
    )


def duplicates(project) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(comparisons with more live annotations than wanted, comparisons whose counter exceeds wanted)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT a.comparison_id FROM annotation_annotation a "
            "JOIN annotation_comparison c ON c.id = a.comparison_id "
            "WHERE a.project_id = %s AND a.is_live GROUP BY a.comparison_id, c.annotations_wanted "
            "HAVING count(*) > c.annotations_wanted) x",
            [project.pk],
        )
        over = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM annotation_comparison WHERE project_id = %s "
            "AND annotations_received > annotations_wanted",
            [project.pk],
        )
        counter_over = cursor.fetchone()[0]
    return over, counter_over


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comparisons", type=int, nargs="+", default=[100_000])
    parser.add_argument("--annotators", type=int, nargs="+", default=[1, 8, 50])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per level")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--peer", choices=["label-studio"], help="also run the loop against this peer, same sizes and levels"
    )
    parser.add_argument(
        "--peer-db", choices=["postgres", "sqlite"], default="postgres",
        help="the peer's database: its own database on our Postgres server (default) or its default SQLite",
    )  # fmt: skip
    args = parser.parse_args()

    bench_django(fast_passwords=True)
    from django.conf import settings

    print(
        f"# annotate loop: {os.cpu_count()} CPUs, Postgres at "
        f"{settings.DATABASES['default']['HOST'] or 'socket'}"
    )
    server, port = start_gunicorn(workers=args.workers, threads=args.threads)
    print(f"# gunicorn gthread workers={args.workers} threads={args.threads}, clients over loopback HTTP")
    peer = None
    try:
        if args.peer == "label-studio":
            peer = LabelStudioPeer(
                database_url=_suffixed(bench_database_url(), "_ls"), database=args.peer_db,
                workers=args.workers, threads=args.threads,
            )  # fmt: skip
            print(peer.describe(), flush=True)
            peer.start(annotators=max(args.annotators))
        for n in args.comparisons:
            _run_size(n, port, args)
            if peer is not None:
                _run_peer_size(peer, n, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if peer is not None:
            peer.stop()


def _suffixed(url: str, suffix: str) -> str:
    """The same server URL with the database name suffixed: the peer's own database."""
    base, _, query = url.partition("?")
    return base + suffix + ("?" + query if query else "")


def _run_size(n: int, port: int, args: argparse.Namespace) -> None:
    project = seed(n)
    for mode in ("separate", "combined"):
        for annotators in args.annotators:
            result = run_level(project, port, annotators, args.seconds, combined=mode == "combined")
            label = "next+submit" if mode == "separate" else "submit?next=1"
            print(_line("prefer", n, annotators, label, result), flush=True)
    over, counter_over = duplicates(project)
    print(
        f"system={'prefer':<12} comparisons={n} duplicate_assignments={over} "
        f"over_filled_counters={counter_over}",
        flush=True,
    )


def _run_peer_size(peer: LabelStudioPeer, n: int, args: argparse.Namespace) -> None:
    """Label Studio has no submit-and-next call: only the next+submit mode."""
    project_id = peer.prepare(n)
    for annotators in args.annotators:
        result = _summary(**peer.run_level(project_id, annotators, args.seconds))
        print(_line("label-studio", n, annotators, "next+submit", result), flush=True)
    over, races = peer.duplicates(project_id), peer.logged_lock_races()
    print(
        f"system=label-studio comparisons={n} duplicate_annotations={over} logged_lock_races={races}",
        flush=True,
    )


if __name__ == "__main__":
    main()
