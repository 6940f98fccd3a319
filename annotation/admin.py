"""The Django admin: browsing the records. Its one action goes through a service like any other door."""

from django.contrib import admin, messages

from annotation import models
from annotation.rounds.services import project_fill_queue


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "responses_per_task", "overlap", "current_policy", "auto_round_enabled"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]
    raw_id_fields = ["current_policy", "created_by"]
    actions = ["generate_responses"]

    @admin.action(description="Generate responses from the current policy (32 prompts, on the gpu queue)")
    def generate_responses(self, request, queryset):  # type: ignore[no-untyped-def]
        for project in queryset:
            project_fill_queue(project=project, limit=32)
        self.message_user(request, f"Queued generation for {queryset.count()} project(s).", messages.SUCCESS)


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    raw_id_fields = ["user"]


@admin.register(models.Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "split", "created_at"]
    list_filter = ["project", "split"]
    search_fields = ["external_id"]


@admin.register(models.PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "model_ref", "parent", "created_at"]
    list_filter = ["project"]
    raw_id_fields = ["parent", "produced_by"]


@admin.register(models.Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["id", "prompt", "source_model", "policy_version", "created_at"]
    list_filter = ["prompt__project", "source_model"]
    raw_id_fields = ["prompt", "policy_version"]
    readonly_fields = ["public_id"]


class ComparisonItemInline(admin.TabularInline):
    model = models.ComparisonItem
    extra = 0
    raw_id_fields = ["response"]


@admin.register(models.Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "prompt",
        "status",
        "annotations_received",
        "annotations_wanted",
        "is_gold",
    ]
    list_filter = ["project", "status", "is_gold"]
    raw_id_fields = ["prompt", "round"]
    inlines = [ComparisonItemInline]


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "comparison", "annotator", "state", "leased_until"]
    list_filter = ["state", "project"]
    raw_id_fields = ["comparison", "annotator"]


@admin.register(models.Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    """Annotations are immutable: the admin shows them and never edits them."""

    list_display = ["id", "comparison", "annotator", "strength", "all_bad", "is_live", "created_at"]
    list_filter = ["project", "is_live", "all_bad", "strength"]
    raw_id_fields = ["comparison", "annotator", "supersedes"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(models.DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "row_count", "sha256", "created_at"]
    list_filter = ["project"]


@admin.register(models.RewardModelVersion)
class RewardModelVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "base_model", "accepted", "created_at"]
    list_filter = ["project", "accepted"]
    raw_id_fields = ["snapshot", "parent", "produced_by"]


@admin.register(models.TrainingRound)
class TrainingRoundAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "kind", "status", "stage", "progress", "trigger", "created_at"]
    list_filter = ["project", "status", "kind"]
    raw_id_fields = ["snapshot", "reward_model", "policy", "triggered_by"]
