"""Input and output shapes of the REST API (DESIGN section 7). Input serializers only check types; the
business rules (and their error messages) live in the services."""

from rest_framework import serializers

from annotation.models import Membership, Project, Role


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


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
            "lease_seconds",
            "gold_rate",
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


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    guidelines = serializers.CharField(required=False, allow_blank=True)
    overlap = serializers.IntegerField(required=False)
    rating_axes = serializers.ListField(child=serializers.CharField(), required=False)
    lease_seconds = serializers.IntegerField(required=False)
    gold_rate = serializers.FloatField(required=False)
    generation_defaults = serializers.DictField(required=False)
    auto_round_enabled = serializers.BooleanField(required=False)
    auto_round_min_new_preferences = serializers.IntegerField(required=False, min_value=1)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberCreateSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    comparisons = serializers.IntegerField()


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class ImportErrorsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = ImportErrorSerializer(many=True)


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    content = serializers.CharField()
    html = serializers.CharField(help_text="Sanitised rendering of the markdown content")


class TaskResponseSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque response id, used in ranking and ratings")
    text = serializers.CharField()
    html = serializers.CharField(help_text="Sanitised rendering of the markdown text")


class TaskPromptSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["pairwise", "ranking"])
    prompt = TaskPromptSerializer()
    responses = TaskResponseSerializer(many=True)
    rating_axes = serializers.ListField(child=serializers.CharField())
    rating_scale_max = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()
    done = serializers.IntegerField(help_text="Annotations this user has submitted in the project")


class AnnotationRequestSerializer(serializers.Serializer):
    """Types only: the rules (every response ranked once, known axes, ...) are checked by the service so
    that each error names its field the same way for every client."""

    ranking = serializers.JSONField(required=False, help_text="[[best_id], [next_id]]; [[a, b]] is a tie")
    strength = serializers.CharField(required=False, allow_blank=True, default="")
    all_bad = serializers.JSONField(required=False, default=False)
    ratings = serializers.JSONField(required=False, default=dict)
    rationale = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    time_spent_ms = serializers.JSONField(required=False, default=0)
    client_token = serializers.CharField(max_length=64)


class AnnotationResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    next = TaskSerializer(required=False, allow_null=True)


class SkipRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class LeaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    field = serializers.CharField(required=False)
