from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.data.imports import ImportRejected, prompts_import, upload_lines
from annotation.errors import ApplicationError
from annotation.models import Project


class Command(BaseCommand):
    help = (
        "Import prompts (and optional pre-generated responses) from a JSONL file. Every invalid line is "
        "reported as 'line N: field: message' and nothing is written unless the whole file is valid; ids "
        "already in the project are counted as duplicates and skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path", help="a .jsonl file, one object a line")

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        path = Path(str(options["path"]))
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open("rb") as handle:
                result = prompts_import(project=project, lines=upload_lines(handle))
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}: {error}")
            raise CommandError(f"{len(exc.errors)} invalid line(s) in {path}; nothing was imported") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"created {result.created}, duplicates {result.duplicates}, comparisons {result.comparisons}"
            )
        )
