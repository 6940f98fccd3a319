"""The fill-the-queue form's input."""

from rest_framework import serializers

MAX_FILL_PROMPTS = 1000


class FillQueueSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_FILL_PROMPTS, default=32, help_text="prompts")
