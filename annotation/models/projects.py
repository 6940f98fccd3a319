"""Projects and who works on them (DESIGN section 4)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    ADMIN = "admin", "admin"
    REVIEWER = "reviewer", "reviewer"
    ANNOTATOR = "annotator", "annotator"


def default_rating_axes() -> list[str]:
    return ["helpfulness", "harmlessness", "honesty"]


class Project(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    guidelines = models.TextField(blank=True, default="", help_text="Markdown shown to annotators.")
    responses_per_task = models.PositiveSmallIntegerField(
        default=2, help_text="1 = scoring (one response rated), 2 = pairwise, 3..6 = ranking"
    )
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Annotations wanted per comparison")
    rating_axes = models.JSONField(default=default_rating_axes, blank=True)
    rating_scale_max = models.PositiveSmallIntegerField(default=7)
    lease_seconds = models.PositiveIntegerField(default=600)
    gold_rate = models.FloatField(default=0.0, help_text="Share of tasks drawn from gold items (0..1)")
    # Gold and review settings (issue 12): the bar an annotator's gold answers must clear, and which
    # comparisons a reviewer sees.
    gold_feedback = models.BooleanField(default=False, help_text="Show the expected answer after a gold item")
    gold_min_accuracy = models.FloatField(default=0.7, help_text="Gold accuracy below this flags (0..1)")
    # 10, not 5: an honest annotator at 0.85 gold accuracy is flagged at some point in 100 items 29% of the
    # time with a bar after 5, 15% after 10; a random one is flagged at 10 either way (label_quality.py).
    gold_min_seen = models.PositiveIntegerField(
        default=10, help_text="Gold items seen before the bar applies"
    )
    gold_exclude_below = models.BooleanField(
        default=False, help_text="Leave a flagged annotator's annotations out of consensus"
    )
    review_agreement_below = models.FloatField(
        default=0.6, help_text="Comparisons with 2+ annotations and agreement under this go to review"
    )
    generation_defaults = models.JSONField(default=dict, blank=True)
    # Feedback kinds besides ranking and ratings (issue 11; annotation/feedback/settings.py validates them).
    allow_edits = models.BooleanField(default=True, help_text="Annotators may rewrite a response")
    safety_categories = models.JSONField(
        default=list, blank=True, help_text="[{slug, description}] harm categories; empty = no harm flags"
    )
    dual_preference = models.BooleanField(default=False, help_text="A 'which is safer' verdict too")
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
                condition=Q(responses_per_task__gte=1) & Q(responses_per_task__lte=6),
                name="project_responses_per_task_1_6",
            ),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(condition=Q(lease_seconds__gte=30), name="project_lease_min_30s"),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="project_gold_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(gold_min_accuracy__gte=0) & Q(gold_min_accuracy__lte=1),
                name="project_gold_min_accuracy_0_1",
            ),
            models.CheckConstraint(
                condition=Q(review_agreement_below__gte=0) & Q(review_agreement_below__lte=1),
                name="project_review_agreement_0_1",
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

    @property
    def is_scoring(self) -> bool:
        return self.responses_per_task == 1


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
