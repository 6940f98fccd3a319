from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ApplicationError
from annotation.projects.services import DEFAULT_POLICY, project_create


class Command(BaseCommand):
    help = "Create a project and register its first policy version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--responses-per-task", type=int, default=2, help="1 = scoring, 2 = pairwise, 3..6 = ranking"
        )
        parser.add_argument("--overlap", type=int, default=1, help="annotations wanted per comparison")
        parser.add_argument(
            "--axes", default="helpfulness,harmlessness,honesty", help="comma-separated rating axes"
        )
        parser.add_argument(
            "--policy", default=DEFAULT_POLICY, help="model reference of the first policy version"
        )
        parser.add_argument("--guidelines", default="", help="markdown guidelines (or a path to a .md file)")
        parser.add_argument("--scale", type=int, default=7, help="ratings are 1..SCALE (2..10)")
        parser.add_argument(
            "--safety",
            default="",
            help="harm flags: 'default' (the built-in categories) or comma-separated built-in slugs",
        )
        parser.add_argument("--dual-preference", action="store_true", help="also ask which response is safer")
        parser.add_argument("--no-edits", action="store_true", help="annotators may not rewrite responses")

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
                rating_scale_max=int(options["scale"]),  # type: ignore[call-overload]
                safety_categories=_safety(str(options["safety"])),
                dual_preference=bool(options["dual_preference"]),
                allow_edits=not options["no_edits"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc
        self.stdout.write(
            self.style.SUCCESS(f"created project {project.slug} (policy v1: {options['policy']})")
        )


def _safety(value: str) -> str | list[str]:
    value = value.strip()
    return value if value == "default" else [slug.strip() for slug in value.split(",") if slug.strip()]
