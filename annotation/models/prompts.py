"""What is compared: prompts (conversations) and the responses written for them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models.projects import Project
from annotation.models.rounds import PolicyVersion


class Split(models.TextChoices):
    TRAIN = "train", "train"
    EVAL = "eval", "eval"


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
    # An annotator's rewrite (DESIGN section 4): the response it rewrites (None: written from scratch), who
    # wrote it and the annotation that carries it. Never shown in a comparison.
    edited_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="edits"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    annotation = models.ForeignKey(
        "Annotation", null=True, blank=True, on_delete=models.PROTECT, related_name="edit_responses"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(policy_version__isnull=False) | ~Q(source_model=""), name="response_has_source"
            ),
            models.CheckConstraint(
                condition=Q(edited_from__isnull=True) | Q(author__isnull=False),
                name="response_edit_has_author",
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} of prompt {self.prompt_id}"

    @property
    def source_label(self) -> str:
        return f"policy-v{self.policy_version.version}" if self.policy_version_id else self.source_model
