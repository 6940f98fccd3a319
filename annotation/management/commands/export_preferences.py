import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.data.exports import ExportStream, preference_export
from annotation.errors import ApplicationError
from annotation.formats.exports import FORMATS, parquet_batches
from annotation.models import Project, Split
from training.checkpoints import atomic_file


class Command(BaseCommand):
    help = (
        "Export a project's preference data as NDJSON (default), Parquet or a Hugging Face datasets "
        "directory. Formats: trl, trl-standard, hh-rlhf (one row per consensus pair), raw (one row per live "
        "annotation). Rows stream from the database, so memory does not grow with the project."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--format", choices=FORMATS, default="trl", dest="fmt")
        parser.add_argument("--output", default="-", help="file or directory path, or - for stdout (default)")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--parquet", action="store_true", help="write a Parquet file to --output")
        target.add_argument(
            "--hf-dataset", action="store_true", help="write a datasets.Dataset (save_to_disk) to --output"
        )
        parser.add_argument("--split", choices=Split.values)
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--min-annotations", type=int)
        # Like the API, a date-time without a UTC offset is rejected rather than read as some local time.
        parser.add_argument(
            "--since", help="ISO 8601 date-time with a UTC offset (2025-01-31T00:00:00Z): annotations from"
        )
        parser.add_argument("--until", help="ISO 8601 date-time with a UTC offset: annotations before")
        parser.add_argument("--policy-version", type=int, help="comparisons with a response of this version")
        parser.add_argument("--aggregation", choices=["majority", "dawid-skene"], default="majority")
        parser.add_argument(
            "--include", choices=["chosen"], help="sft only: also the unanimous winners as SFT rows"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        filters = {
            name: options[name]
            for name in ("split", "min_agreement", "min_annotations", "since", "until", "policy_version")
        }
        try:
            stream = preference_export(
                project=project,
                fmt=options["fmt"],
                filters=filters,
                aggregation=options["aggregation"],
                include=options["include"],
            )
        except ApplicationError as exc:
            raise CommandError(f"--{(exc.field or 'format').replace('_', '-')}: {exc.message}") from exc
        output: str = options["output"]
        if (options["parquet"] or options["hf_dataset"]) and output == "-":
            raise CommandError("--parquet and --hf-dataset need --output PATH")
        if options["hf_dataset"]:
            self._write_dataset(stream, Path(output))
        elif options["parquet"]:
            self._write_file(Path(output), lambda handle: self._parquet(stream, handle))
        elif output == "-":
            out = getattr(self.stdout._out, "buffer", None)
            for chunk in stream.ndjson():
                if out is not None:
                    out.write(chunk)
                else:  # a text stream (call_command with stdout=StringIO)
                    self.stdout.write(chunk.decode(), ending="")
            self.stdout.flush()
        else:
            self._write_file(Path(output), lambda handle: handle.writelines(stream.ndjson()))
        destination = "stdout" if output == "-" else output
        sys.stderr.write(
            f"exported {stream.row_count} {stream.fmt} rows of {project.slug} to {destination}\n"
        )

    @staticmethod
    def _write_file(path: Path, write: Any) -> None:
        """Write through a temporary file beside `path`, then rename: a reader never sees half an export."""
        with atomic_file(path) as out:
            write(out.file)

    @staticmethod
    def _parquet(stream: ExportStream, handle: Any) -> None:
        import pyarrow.parquet as pq

        writer = None
        for table in parquet_batches(stream.fmt, iter(stream)):
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema)
            writer.write_table(table)
        if writer is None:  # no rows: still a valid, empty file with the format's columns
            table = next(parquet_batches(stream.fmt, _no_rows(), emit_empty=True))
            writer = pq.ParquetWriter(handle, table.schema)
            writer.write_table(table)
        writer.close()

    def _write_dataset(self, stream: ExportStream, directory: Path) -> None:
        import datasets

        with tempfile.TemporaryDirectory() as scratch:
            parquet = Path(scratch) / "export.parquet"
            self._write_file(parquet, lambda handle: self._parquet(stream, handle))
            dataset = datasets.Dataset.from_parquet(str(parquet), cache_dir=str(Path(scratch) / "cache"))
            dataset.save_to_disk(str(directory))


def _no_rows() -> Iterator[dict]:
    return iter(())
