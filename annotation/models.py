"""Prefer's nouns (DESIGN section 4). Fields, constraints and trivial properties only: every write lives in
services/, every read in selectors/."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Role(models.TextChoices):
    ADMIN = "admin", "admin"
    REVIEWER = "reviewer", "reviewer"
    ANNOTATOR = "annotator", "annotator"


class Split(models.TextChoices):
    TRAIN = "train", "train"
    EVAL = "eval", "eval"


def default_rating_axes() -> list[str]:
    return ["helpfulness", "harmlessness", "honesty"]


class Project(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    guidelines = models.TextField(blank=True, default="", help_text="Markdown shown to annotators.")
    responses_per_task = models.PositiveSmallIntegerField(default=2, help_text="2 = pairwise, 3..6 = ranking")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Annotations wanted per comparison")
    rating_axes = models.JSONField(default=default_rating_axes, blank=True)
    rating_scale_max = models.PositiveSmallIntegerField(default=7)
    lease_seconds = models.PositiveIntegerField(default=600)
    gold_rate = models.FloatField(default=0.0, help_text="Share of tasks drawn from gold items (0..1)")
    generation_defaults = models.JSONField(default=dict, blank=True)
    current_policy = models.ForeignKey(
        "PolicyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    auto_round_enabled = models.BooleanField(default=False)
    auto_round_min_new_preferences = models.PositiveIntegerField(default=200)
    auto_round_config = models.JSONField(default=dict, blank=True, help_text="Config of scheduled rounds")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(responses_per_task__gte=2) & Q(responses_per_task__lte=6),
                name="project_responses_per_task_2_6",
            ),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(condition=Q(lease_seconds__gte=30), name="project_lease_min_30s"),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="project_gold_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(rating_scale_max__gte=2) & Q(rating_scale_max__lte=10), name="project_scale_2_10"
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_ranking(self) -> bool:
        return self.responses_per_task > 2


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user_per_project"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.project_id}:{self.role}"


class Prompt(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    external_id = models.CharField(max_length=255)
    messages = models.JSONField(help_text="[{role, content}], roles system/user/assistant, ends with user")
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.TRAIN)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="prompt_unique_external_id"),
            # Target of a composite foreign key (migration 0003): a comparison stays in its prompt's project.
            models.UniqueConstraint(fields=["id", "project"], name="prompt_id_project"),
            models.CheckConstraint(condition=Q(split__in=Split.values), name="prompt_split_valid"),
        ]
        indexes = [models.Index(fields=["project", "split"])]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.external_id}"


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


class Response(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="responses")
    # Opaque id shown to annotators: sequential ids would let them guess which model came later.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    text = models.TextField()
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    source_model = models.CharField(max_length=255, blank=True, default="", help_text="External model name")
    generation_params = models.JSONField(default=dict, blank=True)
    n_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(policy_version__isnull=False) | ~Q(source_model=""), name="response_has_source"
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} of prompt {self.prompt_id}"

    @property
    def source_label(self) -> str:
        return f"policy-v{self.policy_version.version}" if self.policy_version_id else self.source_model


class ComparisonStatus(models.TextChoices):
    OPEN = "open", "open"
    COMPLETE = "complete", "complete"


class Comparison(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comparisons")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="comparisons")
    responses = models.ManyToManyField(Response, through="ComparisonItem", related_name="comparisons")
    is_gold = models.BooleanField(default=False)
    gold_ranking = models.JSONField(null=True, blank=True, help_text="Expected ranking (response ids)")
    status = models.CharField(max_length=10, choices=ComparisonStatus.choices, default=ComparisonStatus.OPEN)
    annotations_wanted = models.PositiveSmallIntegerField(default=1)
    annotations_received = models.PositiveIntegerField(default=0)
    round = models.ForeignKey(
        "TrainingRound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(annotations_wanted__gte=1), name="comparison_wanted_positive"),
            models.CheckConstraint(
                condition=Q(annotations_received__gte=0), name="comparison_received_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ComparisonStatus.values), name="comparison_status_valid"
            ),
            # Gold items are shown to every annotator, so only ordinary items are capped by their overlap.
            models.CheckConstraint(
                condition=Q(is_gold=True) | Q(annotations_received__lte=F("annotations_wanted")),
                name="comparison_received_le_wanted",
            ),
            # The status is the counts' verdict for ordinary items (gold items stay open for everyone).
            models.CheckConstraint(
                condition=Q(is_gold=True)
                | Q(status="complete", annotations_received__gte=F("annotations_wanted"))
                | Q(status="open", annotations_received__lt=F("annotations_wanted")),
                name="comparison_status_follows_counts",
            ),
            # Targets of the composite foreign keys (migration 0003) that keep a comparison's leases and
            # annotations in its own project.
            models.UniqueConstraint(fields=["id", "project"], name="comparison_id_project"),
        ]
        indexes = [
            # The assignment hot path: open comparisons of a project, the newest round's first (its policy
            # is what the next round needs judged), then imported ones oldest first.
            models.Index(
                F("project"),
                F("is_gold"),
                F("round").desc(nulls_last=True),
                F("id"),
                name="comparison_open_queue",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"comparison {self.pk}"


class ComparisonItem(models.Model):
    """One response of a comparison at its stored (randomised) display position."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="items")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["comparison", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["comparison", "position"], name="comparison_item_unique_position"
            ),
            models.UniqueConstraint(
                fields=["comparison", "response"], name="comparison_item_unique_response"
            ),
        ]

    def __str__(self) -> str:
        return f"comparison {self.comparison_id} #{self.position}: response {self.response_id}"


class AssignmentState(models.TextChoices):
    LEASED = "leased", "leased"
    SUBMITTED = "submitted", "submitted"
    SKIPPED = "skipped", "skipped"
    EXPIRED = "expired", "expired"


class Assignment(models.Model):
    """A lease of one comparison to one annotator. One row per (comparison, annotator): a lease that
    expired is re-used when the same annotator is handed the comparison again."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=AssignmentState.choices, default=AssignmentState.LEASED)
    leased_until = models.DateTimeField()
    skip_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comparison", "annotator"], name="assignment_unique_per_annotator"
            ),
            models.CheckConstraint(
                condition=Q(state__in=AssignmentState.values), name="assignment_state_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["annotator", "project"], name="assignment_live_by_user", condition=Q(state="leased")
            ),
            models.Index(
                fields=["comparison", "leased_until"],
                name="assignment_live_by_cmp",
                condition=Q(state="leased"),
            ),
        ]

    def __str__(self) -> str:
        return f"lease {self.comparison_id}->{self.annotator_id} ({self.state})"


class Strength(models.TextChoices):
    SLIGHT = "slight", "slight"
    CLEAR = "clear", "clear"
    STRONG = "strong", "strong"


class Annotation(models.Model):
    """One annotator's judgement of one comparison. Immutable: a correction is a new row that supersedes
    the old one, which stays for the audit trail with is_live=False."""

    comparison = models.ForeignKey(Comparison, on_delete=models.PROTECT, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    ranking = models.JSONField(help_text="Groups of Response ids, best first; ids in one group are tied")
    strength = models.CharField(max_length=8, choices=Strength.choices, blank=True, default="")
    all_bad = models.BooleanField(default=False)
    ratings = models.JSONField(default=dict, blank=True, help_text="{response_id: {axis: score}}")
    rationale = models.TextField(blank=True, default="")
    time_spent_ms = models.PositiveIntegerField(default=0)
    client_token = models.CharField(max_length=64)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    is_live = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "client_token"], name="annotation_idempotency"),
            models.UniqueConstraint(
                fields=["comparison", "annotator"], condition=Q(is_live=True), name="annotation_one_live"
            ),
            models.CheckConstraint(
                condition=Q(strength__in=["", *Strength.values]), name="annotation_strength_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"]),
            models.Index(
                fields=["annotator", "project"], name="annotation_by_user", condition=Q(is_live=True)
            ),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk} of comparison {self.comparison_id}"


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
