"""The training loop's records: policy and reward-model versions, dataset snapshots and training rounds."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models.projects import Project


class PolicyVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="policy_versions")
    version = models.PositiveIntegerField()
    model_ref = models.CharField(max_length=500, help_text="Built-in model name, directory or Hub id")
    artifact_path = models.CharField(max_length=1000, blank=True, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    produced_by = models.ForeignKey(
        "TrainingRound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="policy_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:policy-v{self.version}"


class DatasetSnapshot(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="snapshots")
    format = models.CharField(max_length=20, default="trl")
    filters = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=1000)
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField()
    annotations_up_to = models.BigIntegerField(default=0, help_text="Highest annotation id included")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"snapshot {self.sha256[:12]} ({self.row_count} rows)"


class RewardModelVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reward_models")
    version = models.PositiveIntegerField()
    base_model = models.CharField(max_length=500)
    artifact_path = models.CharField(max_length=1000)
    snapshot = models.ForeignKey(
        DatasetSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    produced_by = models.ForeignKey(
        "TrainingRound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metrics = models.JSONField(default=dict, blank=True)
    accepted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="reward_model_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:rm-v{self.version}"


class ResponseScore(models.Model):
    """An accepted reward model's score of one response (the comparison page shows it): written by the
    round's reward-model stage for the responses of the comparisons it trained and checked on."""

    response = models.ForeignKey("annotation.Response", on_delete=models.CASCADE, related_name="scores")
    reward_model = models.ForeignKey(RewardModelVersion, on_delete=models.CASCADE, related_name="scores")
    score = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "reward_model"], name="response_score_unique")
        ]

    def __str__(self) -> str:
        return f"response {self.response_id} scored {self.score:.3f} by rm {self.reward_model_id}"


class RoundKind(models.TextChoices):
    PPO = "ppo", "PPO"
    DPO = "dpo", "DPO"


class RoundStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


class RoundStage(models.TextChoices):
    SNAPSHOT = "snapshot", "snapshot"
    REWARD_MODEL = "reward_model", "reward model"
    POLICY = "policy", "policy"
    GENERATE = "generate", "generate"


ACTIVE_ROUND_STATUSES = [RoundStatus.QUEUED, RoundStatus.RUNNING]


class TrainingRound(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rounds")
    kind = models.CharField(max_length=8, choices=RoundKind.choices, default=RoundKind.PPO)
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=RoundStatus.choices, default=RoundStatus.QUEUED)
    stage = models.CharField(max_length=16, choices=RoundStage.choices, blank=True, default="")
    progress = models.FloatField(default=0.0)
    metrics = models.JSONField(default=dict, blank=True, help_text="Per-stage time series and summaries")
    snapshot = models.ForeignKey(
        DatasetSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reward_model = models.ForeignKey(
        RewardModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, api, cli, schedule")
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The worker currently executing the round (a random token) and its liveness: a redelivered task only
    # takes over when the heartbeat has gone stale, so a round never trains twice at once.
    runner = models.CharField(max_length=64, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    annotations_up_to = models.BigIntegerField(
        default=0, help_text="Highest annotation id that existed at launch (the schedule counts from here)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="round_progress_0_1"
            ),
            models.CheckConstraint(condition=Q(status__in=RoundStatus.values), name="round_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=RoundKind.values), name="round_kind_valid"),
            # One active round per project, held by the database rather than by a check-then-insert.
            models.UniqueConstraint(
                fields=["project"], condition=Q(status__in=ACTIVE_ROUND_STATUSES), name="round_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"round {self.pk} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ROUND_STATUSES


class GenerationJob(models.Model):
    """A fill-the-queue generation (a task on the gpu queue): its state and progress for whoever started it,
    and the record, in Postgres beside the comparisons it wrote, that makes a redelivered task a no-op."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_jobs")
    # Set when a task arrived without a job (sent directly): its Celery id is then the idempotency key.
    task_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=RoundStatus.choices, default=RoundStatus.QUEUED)
    limit = models.PositiveIntegerField(help_text="Prompts to write new comparisons for")
    progress = models.FloatField(default=0.0)
    comparisons = models.PositiveIntegerField(default=0, help_text="Comparisons written")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"generation {self.pk} of {self.project_id} ({self.status})"
