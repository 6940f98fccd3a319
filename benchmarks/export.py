"""Streaming exports: rows/s and the serving process's peak RSS while a client streams the whole export.

For each size (annotations: 100k and 1M by default) a project is seeded once with set-based SQL (two
annotations per comparison, by 20 annotators, 80 % agreeing on the better response), then gunicorn serves
config.wsgi in a subprocess and one client streams GET /api/v1/projects/<slug>/export/?format=<fmt> over
loopback HTTP while a thread samples the gunicorn worker's RSS with psutil. Targets: >= 50,000 rows/s, and the
peak RSS at 1M within 10 % of the peak at 100k (memory must not grow with the project).

It uses its own database (<DATABASE_URL's name>_bench) and never touches the dev data:

    .venv/bin/python benchmarks/export.py [--annotations 100000 1000000] [--formats trl raw]
"""

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from benchmarks.serving import bench_django, start_gunicorn

ANNOTATORS = 20

SEED_SQL = """
WITH p AS (
    INSERT INTO annotation_prompt (project_id, external_id, messages, split, metadata, created_at)
    SELECT %(project)s, 'export-' || g, jsonb_build_array(
               jsonb_build_object('role', 'system', 'content', 'You are a helpful assistant.'),
               jsonb_build_object('role', 'user', 'content',
                   'Question number ' || g || ': explain something useful in two short paragraphs.')),
           CASE WHEN g %% 10 = 0 THEN 'eval' ELSE 'train' END, '{}'::jsonb, now()
    FROM generate_series(1, %(comparisons)s) g
    RETURNING id
), r AS (
    INSERT INTO annotation_response (prompt_id, public_id, text, source_model, generation_params, created_at)
    SELECT p.id, gen_random_uuid(),
           'Response ' || k || ' to prompt ' || p.id
           || E' with **markdown**, a list:\\n\\n- one\\n- two\\n\\n'
           || 'and a closing sentence that makes the answer about as long as a short real one.',
           'bench-' || k, '{}'::jsonb, now()
    FROM p CROSS JOIN generate_series(1, 2) k
    RETURNING id, prompt_id
), c AS (
    INSERT INTO annotation_comparison (project_id, prompt_id, is_gold, status, annotations_wanted,
                                       annotations_received, created_at, completed_at)
    SELECT %(project)s, p.id, false, 'complete', 2, 2, now(), now() FROM p ORDER BY p.id
    RETURNING id, prompt_id
), i AS (
    INSERT INTO annotation_comparisonitem (comparison_id, response_id, position)
    SELECT c.id, r.id, row_number() OVER (PARTITION BY c.id ORDER BY r.id) - 1
    FROM c JOIN r ON r.prompt_id = c.prompt_id
    RETURNING comparison_id, response_id, position
), pairs AS (
    SELECT comparison_id, array_agg(response_id ORDER BY position) AS ids FROM i GROUP BY comparison_id
)
INSERT INTO annotation_annotation (comparison_id, annotator_id, project_id, ranking, strength, all_bad,
                                   ratings, rationale, time_spent_ms, client_token, is_live, created_at)
SELECT pairs.comparison_id, (%(users)s::bigint[])[1 + (pairs.comparison_id + j) %% %(n_users)s], %(project)s,
       CASE WHEN random() < 0.8 THEN jsonb_build_array(jsonb_build_array(ids[1]), jsonb_build_array(ids[2]))
            ELSE jsonb_build_array(jsonb_build_array(ids[2]), jsonb_build_array(ids[1])) END,
       (ARRAY['slight', 'clear', 'strong'])[1 + (pairs.comparison_id + j) %% 3], false,
       jsonb_build_object(ids[1]::text, jsonb_build_object('helpfulness', 5)),
       '', 3000 + (random() * 20000)::int, 'bench-' || pairs.comparison_id || '-' || j, true,
       now() - (random() * interval '30 days')
FROM pairs CROSS JOIN generate_series(0, 1) j
"""


def seed(annotations: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotation.models import Annotation, Project
    from annotation.projects.services import project_create

    slug = f"export-bench-{annotations}"
    wanted = annotations // 2 * 2  # two per comparison
    project = Project.objects.filter(slug=slug).first()
    if project is not None and Annotation.objects.filter(project=project, is_live=True).count() < wanted:
        # An earlier run died before seeding all of it (older versions created the project in a transaction
        # of its own, so a failed seed left it empty): start again rather than measure a smaller project.
        print(f"# {slug} has fewer than {wanted} annotations: reseeding", flush=True)
        project.delete()
        project = None
    if project is None:
        User = get_user_model()
        users = [
            User.objects.get_or_create(username=f"export-bench-annotator-{k}")[0].pk
            for k in range(ANNOTATORS)
        ]
        started = time.perf_counter()
        # One transaction: a seed that fails leaves no project behind.
        with transaction.atomic():
            project = project_create(slug=slug, name=f"Export benchmark {annotations}", overlap=2)
            with connection.cursor() as cursor:
                cursor.execute(
                    SEED_SQL,
                    {
                        "project": project.pk,
                        "comparisons": annotations // 2,
                        "users": users,
                        "n_users": len(users),
                    },
                )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"# seeded {annotations} annotations in {time.perf_counter() - started:.1f} s", flush=True)
    count = Annotation.objects.filter(project=project, is_live=True).count()
    return project, count


def admin_token() -> str:
    from django.contrib.auth import get_user_model

    from annotation.accounts.tokens import token_create

    user, _ = get_user_model().objects.get_or_create(username="export-bench-admin")
    if not user.is_superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    return token_create(user=user, name="benchmark", days=1).key


def start_server() -> tuple[subprocess.Popen, int]:
    """One gunicorn worker process (so "the serving process" is one RSS to watch)."""
    return start_gunicorn(workers=1, threads=2, timeout=600)


def stream_once(port: int, token: str, slug: str, fmt: str, worker_pid: int) -> dict:
    import psutil

    worker = psutil.Process(worker_pid)
    before = worker.memory_info().rss
    cpu_before = sum(worker.cpu_times()[:2])
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], worker.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request(
        "GET", f"/api/v1/projects/{slug}/export/?format={fmt}", headers={"Authorization": f"Token {token}"}
    )
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"export answered {response.status}: {response.read()[:300]!r}")
    rows = 0
    size = 0
    first_byte = None
    while chunk := response.read(1 << 20):
        if first_byte is None:
            first_byte = time.perf_counter() - started
        rows += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - started
    cpu = sum(worker.cpu_times()[:2]) - cpu_before
    done.set()
    sampler.join()
    conn.close()
    return {
        "rows": rows,
        "bytes": size,
        "seconds": elapsed,
        "first_byte_s": first_byte or elapsed,
        "cpu_s": cpu,
        "rss_before": before,
        "rss_peak": max(peak[0], worker.memory_info().rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--annotations", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["trl", "raw"])
    parser.add_argument("--repeat", type=int, default=1, help="streams per size and format (best is kept)")
    args = parser.parse_args()

    bench_django()

    token = admin_token()
    projects = [seed(n) for n in args.annotations]

    import psutil

    print(
        f"# export: {os.cpu_count()} CPUs; a fresh gunicorn (1 worker, gthread) per measurement, "
        "one client over loopback HTTP"
    )
    peaks: dict[tuple[str, int], float] = {}
    for fmt in args.formats:
        for (project, count), requested in zip(projects, args.annotations, strict=True):
            best = None
            for _ in range(args.repeat):
                server, port = start_server()
                try:
                    (worker,) = psutil.Process(server.pid).children()
                    result = stream_once(port, token, project.slug, fmt, worker.pid)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                if best is None or result["seconds"] < best["seconds"]:
                    best = result
            assert best is not None
            peaks[(fmt, requested)] = best["rss_peak"] / 2**20
            print(
                f"format={fmt:<4} annotations={count:>8} rows={best['rows']:>8} "
                f"rows/s={best['rows'] / best['seconds']:>9.0f} "
                f"annotations/s={count / best['seconds']:>9.0f} "
                f"MB/s={best['bytes'] / best['seconds'] / 1e6:6.1f} "
                f"first_byte={best['first_byte_s'] * 1000:6.0f}ms "
                f"worker_cpu={best['cpu_s']:6.2f}s "
                f"rss_before={best['rss_before'] / 2**20:6.1f}MiB "
                f"rss_peak={best['rss_peak'] / 2**20:6.1f}MiB",
                flush=True,
            )
        sizes = sorted(args.annotations)
        if len(sizes) > 1:
            small, large = peaks[(fmt, sizes[0])], peaks[(fmt, sizes[-1])]
            print(
                f"format={fmt:<4} peak_rss {sizes[0]} -> {sizes[-1]} annotations: "
                f"{small:.1f} -> {large:.1f} MiB "
                f"({(large / small - 1) * 100:+.1f} %, target within 10 %)",
                flush=True,
            )


if __name__ == "__main__":
    main()
