"""Reviews of comparisons and what feeds the review queue (issue 12): a reviewer's verdict, the reviewer's
lease, reasons raised from outside the annotations (a round's reward model), and an admin clearing an
annotator's gold flag."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models.projects import Project
from annotation.models.queue import Comparison


class Verdict(models.TextChoices):
    ACCEPT = "accept", "accept"
    OVERRIDE = "override", "override"
    REJECT_ALL = "reject_all", "reject_all"


class ReviewReason(models.TextChoices):
    DISAGREEMENT = "disagreement", "disagreement"
    GOLD_FAILED = "gold_failed", "gold_failed"
    FLAGGED = "flagged", "flagged"
    SKIPPED_BROKEN = "skipped_broken", "skipped_broken"
    RM_DISAGREES = "rm_disagrees", "rm_disagrees"


class Review(models.Model):
    """One reviewer's verdict on a comparison. Immutable: the latest review of a comparison decides."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="reviews")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    ranking = models.JSONField(null=True, blank=True, help_text="Override only: groups of response ids")
    rejected_annotations = models.JSONField(default=list, blank=True, help_text="Annotation ids")
    reasons = models.JSONField(default=list, blank=True, help_text="Why it was in the queue")
    comment = models.TextField(blank=True, default="")
    client_token = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "client_token"], name="review_idempotency"),
            models.CheckConstraint(condition=Q(verdict__in=Verdict.values), name="review_verdict_valid"),
            models.CheckConstraint(
                condition=Q(verdict="override", ranking__isnull=False) | ~Q(verdict="override"),
                name="review_override_has_ranking",
            ),
        ]
        indexes = [models.Index(fields=["project", "comparison", "-id"], name="review_latest")]

    def __str__(self) -> str:
        return f"review {self.pk} of comparison {self.comparison_id}: {self.verdict}"


class ReviewLease(models.Model):
    """A comparison held by one reviewer. One row per comparison: taken over when it expired."""

    comparison = models.OneToOneField(Comparison, on_delete=models.CASCADE, related_name="review_lease")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    leased_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"review lease {self.comparison_id}->{self.reviewer_id}"


class ReviewFlag(models.Model):
    """A reason for review raised outside the annotations (the reward model of a round disagreeing with a
    unanimous human verdict)."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="review_flags")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=ReviewReason.choices)
    round = models.ForeignKey(
        "TrainingRound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comparison", "reason", "round"], name="review_flag_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} on comparison {self.comparison_id}"


class GoldFlagClearance(models.Model):
    """An admin cleared an annotator's gold flag: gold answers before `cleared_at` no longer count."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cleared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "annotator", "-cleared_at"], name="gold_clearance_latest")]

    def __str__(self) -> str:
        return f"gold flag of {self.annotator_id} cleared in {self.project_id}"
