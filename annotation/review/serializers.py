"""Input and output shapes of the review, gold and annotator-flag endpoints. Types only: the rules live in
the services."""

from rest_framework import serializers

from annotation.queue.serializers import MessageSerializer, TaskResponseSerializer


class ReviewPromptSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)


class GoldAnswerSerializer(serializers.Serializer):
    expected = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    explanation = serializers.CharField(allow_blank=True)


class ReviewComparisonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    prompt = ReviewPromptSerializer()
    responses = TaskResponseSerializer(many=True)
    is_gold = serializers.BooleanField()
    gold = GoldAnswerSerializer(allow_null=True)


class ReviewAnnotationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    annotator = serializers.CharField(help_text="Pseudonym")
    ranking = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    strength = serializers.CharField(allow_blank=True)
    all_bad = serializers.BooleanField()
    ratings = serializers.DictField()
    rationale = serializers.CharField(allow_blank=True)
    edits = serializers.ListField(
        child=serializers.DictField(), help_text="[{response: the original's id or null (a new one), text}]"
    )
    safety = serializers.DictField(help_text="{response id: {safe, categories, severity}}")
    harmless_ranking = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text="The safer-response verdict, safest first (dual preference)",
    )
    gold_correct = serializers.BooleanField(allow_null=True)
    excluded = serializers.CharField(allow_null=True, help_text="rejected | flagged | null")
    time_spent_ms = serializers.IntegerField()


class ReviewItemSerializer(serializers.Serializer):
    comparison = ReviewComparisonSerializer()
    annotations = ReviewAnnotationSerializer(many=True)
    reasons = serializers.ListField(child=serializers.CharField())
    lease_expires_at = serializers.DateTimeField(allow_null=True)


class ReviewRequestSerializer(serializers.Serializer):
    verdict = serializers.CharField(help_text="accept | override | reject_all")
    ranking = serializers.JSONField(required=False, default=None, help_text="override: [[best_id], ...]")
    rejected_annotations = serializers.JSONField(required=False, default=list)
    comment = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    client_token = serializers.CharField(max_length=64)


class ReviewResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()


class GoldRequestSerializer(serializers.Serializer):
    ranking = serializers.JSONField(help_text="The expected answer: [[best_id], [next_id]] (public ids)")
    explanation = serializers.CharField(required=False, allow_blank=True, default="")


class GoldResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    is_gold = serializers.BooleanField()
