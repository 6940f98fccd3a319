import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ApplicationError
from annotation.models import Project, RoundKind, RoundStatus, TrainingRound
from annotation.rounds import runner
from annotation.rounds.services import round_launch
from annotation.rounds.summary import summary_items

FINAL = {RoundStatus.SUCCEEDED, RoundStatus.FAILED, RoundStatus.CANCELLED}


class Command(BaseCommand):
    help = (
        "Launch a training round (snapshot -> reward model -> PPO or DPO -> new comparisons) on the gpu "
        'queue. --config takes JSON or a path to a JSON file; {"preset": "smoke"} runs every stage with '
        "the smallest budgets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--kind", choices=RoundKind.values, default=RoundKind.PPO)
        parser.add_argument("--config", default="{}", help="JSON object or path to a .json file")
        parser.add_argument("--wait", action="store_true", help="follow the round until it finishes")
        parser.add_argument(
            "--inline", action="store_true", help="run the round in this process instead of on a worker"
        )

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        raw = str(options["config"])
        try:
            config = json.loads(Path(raw).read_text() if raw.endswith(".json") else raw)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"--config: {exc}") from exc
        inline = bool(options["inline"])
        training_round = self._launch(project, str(options["kind"]), config, enqueue=not inline)
        if inline:
            # No task is sent: this process claims and runs the round, no broker or worker involved.
            self.stdout.write(
                f"round {training_round.pk} {training_round.kind} running here for {project.slug}"
            )
            runner.round_execute(round_id=training_round.pk)
        else:
            self.stdout.write(f"round {training_round.pk} {training_round.kind} queued for {project.slug}")
        if options["wait"] or inline:
            self._follow(training_round.pk)

    def _launch(self, project: Project, kind: str, config: dict, *, enqueue: bool) -> TrainingRound:
        try:
            return round_launch(project=project, kind=kind, config=config, trigger="cli", enqueue=enqueue)
        except ApplicationError as exc:
            raise CommandError(exc.text) from exc

    def _follow(self, round_id: int) -> None:
        last = None
        started = time.monotonic()
        while True:
            training_round = TrainingRound.objects.get(pk=round_id)
            line = (
                f"{training_round.status:<9} {training_round.stage or '-':<12} {training_round.progress:6.1%}"
            )
            if line != last:
                self.stdout.write(line)
                last = line
            if training_round.status in FINAL:
                break
            if training_round.status == RoundStatus.QUEUED and time.monotonic() - started > 60:
                self.stderr.write("still queued after 60 s: is a gpu worker running? (make demo starts one)")
                started = time.monotonic()
            time.sleep(2)
        for key, value in summary_items(training_round.metrics):
            self.stdout.write(f"  {key}: {value}")
        if training_round.status != RoundStatus.SUCCEEDED:
            raise CommandError(f"round {round_id} {training_round.status}: {training_round.error}")
        self.stdout.write(self.style.SUCCESS(f"round {round_id} succeeded"))
