from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ApplicationError
from annotation.models import Project
from annotation.rounds.generation import project_generate_responses


class Command(BaseCommand):
    help = (
        "Fill the annotation queue from the project's current policy without training: sample responses "
        "for the least-compared train prompts (in this process) and create one comparison per prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--per-prompt", type=int, default=None, help="default: the project's responses per task"
        )
        parser.add_argument("--limit", type=int, default=32, help="number of prompts")

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        try:
            comparisons = project_generate_responses(
                project=project,
                per_prompt=options["per_prompt"],
                limit=int(options["limit"]),  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc
        self.stdout.write(
            self.style.SUCCESS(f"created {len(comparisons)} comparisons from {project.current_policy}")
        )
