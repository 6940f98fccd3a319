from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ApplicationError
from annotation.projects.services import DEFAULT_POLICY, project_create


class Command(BaseCommand):
    help = "Create a project and register its first policy version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--responses-per-task", type=int, default=2, help="2 = pairwise, 3..6 = ranking")
        parser.add_argument("--overlap", type=int, default=1, help="annotations wanted per comparison")
        parser.add_argument(
            "--axes", default="helpfulness,harmlessness,honesty", help="comma-separated rating axes"
        )
        parser.add_argument(
            "--policy", default=DEFAULT_POLICY, help="model reference of the first policy version"
        )
        parser.add_argument("--guidelines", default="", help="markdown guidelines (or a path to a .md file)")

    def handle(self, *args: object, **options: object) -> None:
        guidelines = str(options["guidelines"])
        if guidelines.endswith(".md"):
            try:
                with open(guidelines, encoding="utf-8") as handle:
                    guidelines = handle.read()
            except OSError as exc:
                raise CommandError(f"--guidelines: {exc}") from exc
        try:
            project = project_create(
                slug=str(options["slug"]),
                name=str(options["name"]),
                responses_per_task=int(options["responses_per_task"]),  # type: ignore[call-overload]
                overlap=int(options["overlap"]),  # type: ignore[call-overload]
                rating_axes=[a for a in str(options["axes"]).split(",") if a.strip()],
                policy=str(options["policy"]),
                guidelines=guidelines,
            )
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc
        self.stdout.write(
            self.style.SUCCESS(f"created project {project.slug} (policy v1: {options['policy']})")
        )
