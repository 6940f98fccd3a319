from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ApplicationError
from annotation.models import Project, Role
from annotation.projects.services import membership_set


class Command(BaseCommand):
    help = "Add a user to a project with a role (or change their role)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        try:
            membership = membership_set(
                project=project, username=str(options["username"]), role=str(options["role"])
            )
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc
        self.stdout.write(self.style.SUCCESS(f"{options['username']} is {membership.role} of {project.slug}"))
