"""The annotation queue: comparisons, their leases to annotators, and the annotations they submit."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from annotation.models.projects import Project
from annotation.models.prompts import Prompt, Response


class ComparisonStatus(models.TextChoices):
    OPEN = "open", "open"
    COMPLETE = "complete", "complete"


class Comparison(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comparisons")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="comparisons")
    responses = models.ManyToManyField(Response, through="ComparisonItem", related_name="comparisons")
    is_gold = models.BooleanField(default=False)
    gold_ranking = models.JSONField(null=True, blank=True, help_text="Expected ranking (response ids)")
    gold_explanation = models.TextField(blank=True, default="", help_text="Why the gold ranking is right")
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
                | Q(status=ComparisonStatus.COMPLETE, annotations_received__gte=F("annotations_wanted"))
                | Q(status=ComparisonStatus.OPEN, annotations_received__lt=F("annotations_wanted")),
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
                condition=Q(status=ComparisonStatus.OPEN),
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
                fields=["annotator", "project"],
                name="assignment_live_by_user",
                condition=Q(state=AssignmentState.LEASED),
            ),
            models.Index(
                fields=["comparison", "leased_until"],
                name="assignment_live_by_cmp",
                condition=Q(state=AssignmentState.LEASED),
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
    # Issue 11's feedback kinds (annotation/feedback/submission.py checks them).
    edits = models.JSONField(
        default=list, blank=True, help_text="[{response: original id or None, edit: Response id, text}]"
    )
    safety = models.JSONField(
        default=dict, blank=True, help_text="{response_id: {safe, categories, severity}}"
    )
    harmless_ranking = models.JSONField(
        null=True, blank=True, help_text="Groups of Response ids, safest first (dual preference)"
    )
    time_spent_ms = models.PositiveIntegerField(default=0)
    client_token = models.CharField(max_length=64)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    is_live = models.BooleanField(default=True)
    # Gold items only: whether the ranking matched the gold ranking (None for ordinary items).
    gold_correct = models.BooleanField(null=True, blank=True)
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
