"""The data page's query: its filters and the paging key, checked like any API query (a 400 naming the
field)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from annotation.models import ComparisonStatus, Split


class DataQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ComparisonStatus.choices, required=False)
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    gold = serializers.ChoiceField(choices=[("yes", _("gold only")), ("no", _("no gold"))], required=False)
    round = serializers.CharField(required=False, help_text="a round id, or 'imported'")
    agreement = serializers.ChoiceField(
        choices=[("disagree", _("annotators disagree")), ("unanimous", _("unanimous (2+)"))], required=False
    )
    after = serializers.IntegerField(required=False, min_value=1)
    prompts_after = serializers.IntegerField(required=False, min_value=1)
    show = serializers.ChoiceField(
        choices=[("comparisons", "comparisons"), ("prompts", "prompts")], required=False
    )

    def validate_round(self, value: str) -> str:
        if value != "imported" and not value.isdigit():
            raise serializers.ValidationError("must be a round id or 'imported'")
        return value
