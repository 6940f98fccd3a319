import getpass
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ApplicationError
from annotation.projects.services import user_create


class Command(BaseCommand):
    help = "Create a user. Without --password the password is read from stdin (or prompted for on a tty)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--password", help="Password (prefer stdin: command lines end up in shell history)"
        )
        parser.add_argument("--admin", action="store_true", help="Make a site admin (may create projects)")

    def handle(self, *args: object, **options: object) -> None:
        password = options["password"]
        if password is None:
            password = (
                getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
            )
        try:
            user = user_create(
                username=str(options["username"]), password=str(password), is_admin=bool(options["admin"])
            )
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc
        kind = "admin" if options["admin"] else "user"
        self.stdout.write(self.style.SUCCESS(f"created {kind} {user.get_username()}"))
