"""The data page at 100k comparisons: time to render /p/<slug>/data/ (the whole page, through Django's
test client in this process) on its first page, deep in the list (id-keyed: `?after=`), and under each filter;
beside it, the peer: the same list paged with OFFSET at the same depth plus a COUNT(*) (what Django's
Paginator does), the common way such lists are paged.

It seeds with benchmarks/export.py's set-based SQL (two annotations per comparison, 80 % agreeing) in its own
database (<DATABASE_URL's name>_bench), never the dev data:

    .venv/bin/python benchmarks/data_page.py [--comparisons 100000] [--repeat 5]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from benchmarks.serving import bench_database_url, ensure_database


def timed(work, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds of `repeat` calls (after one warm-up call)."""
    work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comparisons", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    url = bench_database_url()
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.test import Client

    from annotation.models import Comparison
    from benchmarks.export import seed

    call_command("migrate", verbosity=0)
    project, annotations = seed(args.comparisons * 2)
    total = Comparison.objects.filter(project=project).count()
    print(f"# project {project.slug}: {total} comparisons, {annotations} annotations", flush=True)

    admin, _ = get_user_model().objects.get_or_create(username="data-page-bench-admin")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    client = Client()
    client.force_login(admin)

    ids = list(Comparison.objects.filter(project=project).order_by("-id").values_list("id", flat=True))
    depth = int(len(ids) * 0.9)
    deep_after = ids[depth - 1]
    base = f"/p/{project.slug}/data/"

    def page(query: str):  # type: ignore[no-untyped-def]
        def get() -> None:
            response = client.get(base + query)
            assert response.status_code == 200, response.status_code
            assert b"data-comparison=" in response.content or "gold=yes" in query

        return get

    cases = [
        ("first page", ""),
        (f"page at depth {depth}", f"?after={deep_after}"),
        ("status=complete", "?status=complete"),
        ("split=eval", "?split=eval"),
        ("agreement=disagree", "?agreement=disagree"),
        ("agreement=unanimous", "?agreement=unanimous"),
        ("gold=yes (none: the whole list is scanned)", "?gold=yes"),
        ("round=imported&split=eval, deep", f"?round=imported&split=eval&after={deep_after}"),
    ]
    for name, query in cases:
        print(f"data page {name}: {timed(page(query), args.repeat):.1f} ms", flush=True)

    def keyset_list() -> None:
        list(Comparison.objects.filter(project=project, id__lt=deep_after).order_by("-id")[:51])

    def offset_list() -> None:
        paginator = Paginator(Comparison.objects.filter(project=project).order_by("-id"), 50)
        list(paginator.page(depth // 50 + 1).object_list)

    keyset = timed(keyset_list, args.repeat)
    offset = timed(offset_list, args.repeat)
    print(f"list query at depth {depth}, keyset (ours): {keyset:.2f} ms", flush=True)
    print(
        f"list query at depth {depth}, OFFSET + COUNT (peer, Django Paginator): {offset:.2f} ms", flush=True
    )
    print(f"ratio peer / ours: {offset / keyset:.1f}x", flush=True)


if __name__ == "__main__":
    main()
