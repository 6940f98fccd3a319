"""Input and output shapes of the projects and members endpoints. Input serializers only check
types; the business rules (and their error messages) live in the services."""

from rest_framework import serializers

from annotation.models import Membership, Project, Role

GOLD_REVIEW_FIELDS = (
    "gold_feedback",
    "gold_min_accuracy",
    "gold_min_seen",
    "gold_exclude_below",
    "review_agreement_below",
)


class ProjectSerializer(serializers.ModelSerializer):
    current_policy = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "guidelines",
            "responses_per_task",
            "overlap",
            "rating_axes",
            "rating_scale_max",
            "allow_edits",
            "safety_categories",
            "dual_preference",
            "lease_seconds",
            "gold_rate",
            *GOLD_REVIEW_FIELDS,
            "generation_defaults",
            "auto_round_enabled",
            "auto_round_min_new_preferences",
            "current_policy",
            "role",
            "created_at",
        ]
        read_only_fields = fields

    # Annotators judge blind: which model the project is training, and how it samples, is for its admins.
    ADMIN_ONLY_FIELDS = ("generation_defaults", "current_policy")

    def get_current_policy(self, project: Project) -> dict | None:
        policy = project.current_policy
        return {"version": policy.version, "model_ref": policy.model_ref} if policy else None

    def to_representation(self, project: Project) -> dict:
        data = super().to_representation(project)
        if self.get_role(project) != Role.ADMIN:
            for name in self.ADMIN_ONLY_FIELDS:
                data[name] = None
        return data

    def get_role(self, project: Project) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(project.pk)


class ProjectCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    guidelines = serializers.CharField(required=False, allow_blank=True, default="")
    responses_per_task = serializers.IntegerField(required=False, default=2)
    overlap = serializers.IntegerField(required=False, default=1)
    rating_axes = serializers.ListField(child=serializers.CharField(), required=False)
    lease_seconds = serializers.IntegerField(required=False, default=600)
    policy = serializers.CharField(required=False, default="smollm2-135m-instruct")
    gold_rate = serializers.FloatField(required=False)
    gold_feedback = serializers.BooleanField(required=False)
    gold_min_accuracy = serializers.FloatField(required=False)
    gold_min_seen = serializers.IntegerField(required=False)
    gold_exclude_below = serializers.BooleanField(required=False)
    review_agreement_below = serializers.FloatField(required=False)
    # Feedback kinds (issue 11): types are checked by annotation.feedback.settings, with its messages.
    rating_scale_max = serializers.JSONField(required=False, default=7, help_text="2..10")
    allow_edits = serializers.JSONField(required=False, default=True)
    safety_categories = serializers.JSONField(
        required=False, help_text='"default", [] or [slug | {slug, description}]'
    )
    dual_preference = serializers.JSONField(required=False, default=False)


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    guidelines = serializers.CharField(required=False, allow_blank=True)
    overlap = serializers.IntegerField(required=False)
    rating_axes = serializers.ListField(child=serializers.CharField(), required=False)
    lease_seconds = serializers.IntegerField(required=False)
    gold_rate = serializers.FloatField(required=False)
    gold_feedback = serializers.BooleanField(required=False)
    gold_min_accuracy = serializers.FloatField(required=False)
    gold_min_seen = serializers.IntegerField(required=False)
    gold_exclude_below = serializers.BooleanField(required=False)
    review_agreement_below = serializers.FloatField(required=False)
    generation_defaults = serializers.DictField(required=False)
    auto_round_enabled = serializers.BooleanField(required=False)
    auto_round_min_new_preferences = serializers.IntegerField(required=False, min_value=1)
    # Feedback kinds (issue 11): types are checked by annotation.feedback.settings, with its messages.
    rating_scale_max = serializers.JSONField(required=False, help_text="2..10")
    allow_edits = serializers.JSONField(required=False)
    safety_categories = serializers.JSONField(
        required=False, help_text='"default", [] or [slug | {slug, description}]'
    )
    dual_preference = serializers.JSONField(required=False)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberCreateSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
