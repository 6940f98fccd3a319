import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from annotation.data.imports import ImportRejected
from annotation.errors import ApplicationError
from annotation.models import Project
from annotation.projects.demo import (
    ADMIN_PASSWORD_ENV,
    ANNOTATOR_PASSWORD_ENV,
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ANNOTATOR_PASSWORD,
    demo_seed,
)
from annotation.rounds.services import project_fill_queue


class Command(BaseCommand):
    help = (
        "Set up a LOCAL demo: users admin (site admin), annotator1 and annotator2, a pairwise project 'demo' "
        "with bundled English and Chinese prompts, each with two pre-written responses to compare, a "
        "helpful-and-harmless project 'demo-hh' (harm flags, 'which is safer'; a few harmful requests among "
        "the prompts) and a scoring project 'demo-score' (1-5), and print "
        f"the logins. Passwords come from ${ADMIN_PASSWORD_ENV} and ${ANNOTATOR_PASSWORD_ENV}, else the "
        f"fixed, public demo passwords {DEFAULT_ADMIN_PASSWORD!r} / {DEFAULT_ANNOTATOR_PASSWORD!r}: "
        "do not use those on a server others can reach. Safe to re-run: nothing that exists is changed "
        "(existing users keep their passwords) and prompts already imported are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the web server runs, for the printed links (default: %(default)s)",
        )
        parser.add_argument(
            "--generate",
            type=int,
            default=0,
            metavar="N",
            help="Also queue the project's policy (SmolLM2) to write responses for N prompts on the gpu "
            "worker, "
            "once: skipped when the policy has already written responses.",
        )

    def handle(self, *args: object, **options: object) -> None:
        own_passwords = os.environ.get(ADMIN_PASSWORD_ENV) and os.environ.get(ANNOTATOR_PASSWORD_ENV)
        if settings.PRODUCTION and not own_passwords:
            # The demo's default passwords are in this repository: never on a production site.
            raise CommandError(
                "seed_demo makes users with the demo's published passwords: refused with "
                f"PREFER_ENV=production unless {ADMIN_PASSWORD_ENV} and {ANNOTATOR_PASSWORD_ENV} are set"
            )
        try:
            result = demo_seed()
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(f"prompts.jsonl: {error}")
            raise CommandError(exc.message) from exc
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc

        slug = result.project.slug
        if options["generate"]:
            self._queue_generation(result.project, int(options["generate"]))  # type: ignore[call-overload]
        base = str(options["base_url"]).rstrip("/")
        imported = result.imported
        self.stdout.write(
            f"project {slug!r}: {'created' if result.project_created else 'already there'}; "
            f"prompts: {imported.created} imported, {imported.duplicates} already present; "
            f"comparisons created: {imported.comparisons}"
        )
        for demo in result.feedback_demos:
            self.stdout.write(
                f"project {demo.project.slug!r} ({demo.project.name}): "
                f"{'created' if demo.created else 'already there'}; prompts: {demo.imported.created} "
                f"imported, {demo.imported.duplicates} already present; "
                f"tasks created: {demo.imported.comparisons}; "
                f"{base}{reverse('annotate', args=[demo.project.slug])}"
            )
        self.stdout.write(self.style.SUCCESS(f"Demo ready: {base}{reverse('annotate', args=[slug])}"))
        width = max(len(login.username) for login in result.logins)
        pw_width = max(len(login.password or "") for login in result.logins)
        for login in result.logins:
            notes = []
            if not login.created:
                notes.append("existing user, password unchanged")
            if login.is_site_admin:
                notes.append(
                    f"site admin; dashboard at {reverse('dashboard', args=[slug])}, "
                    f"Django admin at {reverse('admin:index')}"
                )
            line = f"  {login.username:<{width}}"
            if login.password is not None:  # else: an existing user whose password is not the demo one
                line += f"  / {login.password:<{pw_width}}"
            if notes:
                line += f"  ({'; '.join(notes)})"
            self.stdout.write(line.rstrip())

    def _queue_generation(self, project: Project, limit: int) -> None:
        if not project_fill_queue(project=project, limit=limit, once=True):
            return
        self.stdout.write(
            f"queued: {project.current_policy.model_ref} writes responses for {limit} prompts on the gpu "
            "worker "
            "(they join the queue in a minute or two)"
        )
