"""Input and output shapes of the annotator's endpoints (next task, submit, skip, heartbeat). Types only:
the rules live in the services."""

from rest_framework import serializers


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


class SafetyCategorySerializer(serializers.Serializer):
    slug = serializers.CharField()
    description = serializers.CharField()


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["scoring", "pairwise", "ranking"])
    prompt = TaskPromptSerializer()
    responses = TaskResponseSerializer(many=True)
    rating_axes = serializers.ListField(child=serializers.CharField())
    rating_scale_max = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()
    done = serializers.IntegerField(help_text="Annotations this user has submitted in the project")
    allow_edits = serializers.BooleanField()
    safety_categories = SafetyCategorySerializer(many=True, help_text="Empty: no harm flags")
    dual_preference = serializers.BooleanField(help_text="Also ask which response is safer")


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
    # Feedback kinds where the project takes them (issue 11; annotation/feedback/submission.py checks them).
    edits = serializers.JSONField(
        required=False, default=None, help_text='[{"response": id or null, "text": "..."}]: rewrites'
    )
    safety = serializers.JSONField(
        required=False, default=None, help_text='{"<id>": {"safe": bool, "categories": [slug], "severity"}}'
    )
    harmless_ranking = serializers.JSONField(
        required=False, default=None, help_text="Same shape as ranking, safest first (dual preference)"
    )


class GoldFeedbackSerializer(serializers.Serializer):
    correct = serializers.BooleanField()
    expected = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    explanation = serializers.CharField(allow_blank=True)


class AnnotationResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    gold = GoldFeedbackSerializer(required=False, help_text="Gold items with the project's gold_feedback on")
    next = TaskSerializer(required=False, allow_null=True)


class SkipRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class LeaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()
