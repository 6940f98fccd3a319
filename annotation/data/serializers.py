"""Shapes of the data endpoints: the import (in), export rows and stats (out), for validation of the query and
for the schema."""

from typing import Any

from drf_spectacular.serializers import PolymorphicProxySerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from annotation.formats.exports import FORMATS
from annotation.models import Split


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


@extend_schema_field(OpenApiTypes.DATETIME)
class MomentField(serializers.CharField):
    """An ISO 8601 date-time passed on as text: PreferenceFilters parses it and rejects one without a UTC
    offset, as the CLI does (DRF's DateTimeField would quietly read a naive time as server time)."""


class ExportQuerySerializer(serializers.Serializer):
    """Types and ranges (also for the schema); PreferenceFilters checks the rules again, with the same
    messages, so that the API and the CLI say the same things."""

    format = serializers.ChoiceField(choices=FORMATS, help_text="Row format (DESIGN section 7)")
    aggregation = serializers.ChoiceField(
        choices=["majority", "dawid-skene"],
        required=False,
        help_text="How several annotators make one label: majority (default) or dawid-skene (skill-weighted)",
    )
    include = serializers.ChoiceField(
        choices=["chosen"],
        required=False,
        help_text="sft only: also the unanimous winners (chosen by every annotator, or by a reviewer)",
    )
    split = serializers.ChoiceField(
        choices=Split.choices, required=False, help_text="Prompt split; all if unset"
    )
    min_agreement = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        error_messages={"min_value": "must be between 0 and 1", "max_value": "must be between 0 and 1"},
        help_text="Keep pairs whose share of agreeing annotators is at least this (0..1)",
    )
    min_annotations = serializers.IntegerField(
        required=False,
        min_value=1,
        error_messages={"min_value": "must be at least 1"},
        help_text="Keep comparisons with at least this many live annotations (default 1)",
    )
    since = MomentField(
        required=False,
        help_text="Only annotations created at or after this. ISO 8601 with a UTC offset "
        "(2025-01-31T00:00:00Z); a time without one is rejected",
    )
    until = MomentField(
        required=False,
        help_text="Only annotations created before this. ISO 8601 with a UTC offset; a time without one is "
        "rejected",
    )
    policy_version = serializers.IntegerField(
        required=False, help_text="Only comparisons with a response from this policy version number"
    )


class ChatMessageSerializer(serializers.Serializer):
    role = serializers.CharField(help_text="system, user or assistant")
    content = serializers.CharField()


class _PairMetadata(serializers.Serializer):
    margin = serializers.FloatField(help_text="Mean stated strength of the agreeing annotators (0.5/1/2)")
    comparison_id = serializers.IntegerField()
    n_annotations = serializers.IntegerField()
    agreement = serializers.FloatField(
        allow_null=True,
        help_text="Share of annotators agreeing with the majority (null: edit or rating pair)",
    )
    kind = serializers.ChoiceField(
        choices=["ranking", "edit", "rating", "harmless"],
        help_text="A ranking's consensus, an edit over its original, a rating difference, or (trl-harmless) "
        "the safer-response consensus",
    )
    adjudicated = serializers.BooleanField(help_text="A reviewer's override is this pair's consensus")


class TrlRowSerializer(_PairMetadata):
    prompt = ChatMessageSerializer(many=True)
    chosen = ChatMessageSerializer(many=True)
    rejected = ChatMessageSerializer(many=True)


class TrlStandardRowSerializer(_PairMetadata):
    prompt = serializers.CharField(help_text='HH-style transcript ending with "\\n\\nAssistant:"')
    chosen = serializers.CharField(help_text="A space and the response text")
    rejected = serializers.CharField()


class HhRlhfRowSerializer(serializers.Serializer):
    chosen = serializers.CharField(help_text="Full transcript ending with the chosen response")
    rejected = serializers.CharField(help_text="Full transcript ending with the rejected response")


class RawPromptSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    split = serializers.CharField()
    messages = ChatMessageSerializer(many=True)


class RawResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    source = serializers.CharField(help_text="policy-vN or the external model name")


class RawRowSerializer(serializers.Serializer):
    annotation_id = serializers.IntegerField()
    comparison_id = serializers.IntegerField()
    is_gold = serializers.BooleanField()
    prompt = RawPromptSerializer()
    responses = RawResponseSerializer(many=True, help_text="In display order")
    ranking = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Groups of response ids, best first; ids in a group are tied",
    )
    strength = serializers.CharField(help_text='slight, clear, strong or ""')
    all_bad = serializers.BooleanField()
    ratings = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="{response id: {axis: score}}",
    )
    edits = serializers.ListField(
        child=serializers.DictField(), help_text="[{response: original id or null, edit: response id, text}]"
    )
    safety = serializers.DictField(
        child=serializers.DictField(), help_text="{response id: {safe, categories, severity}}"
    )
    harmless_ranking = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        allow_null=True,
        help_text="Groups of response ids, safest first (dual preference)",
    )
    rationale = serializers.CharField()
    time_spent_ms = serializers.IntegerField()
    annotator = serializers.CharField(help_text="Stable pseudonym (keyed HMAC); never a user id or name")
    created_at = serializers.DateTimeField()
    comparison_created_at = serializers.DateTimeField()
    excluded = serializers.CharField(
        allow_null=True, help_text="Why it is out of the consensus: rejected (review), flagged (annotator)"
    )


class SftRowSerializer(serializers.Serializer):
    messages = ChatMessageSerializer(many=True, help_text="The conversation and the edit as the last turn")
    source = serializers.CharField(help_text='"edit", or "chosen" (a unanimous winner, with include=chosen)')
    comparison_id = serializers.IntegerField()
    response_id = serializers.IntegerField(help_text="The edit's own response id, or the winner's")


class SafeRlhfRowSerializer(serializers.Serializer):
    """PKU-SafeRLHF's columns."""

    prompt = serializers.CharField(help_text="The conversation as text")
    response_0 = serializers.CharField()
    response_1 = serializers.CharField()
    is_response_0_safe = serializers.BooleanField()
    is_response_1_safe = serializers.BooleanField()
    response_0_harm_category = serializers.DictField(child=serializers.BooleanField())
    response_1_harm_category = serializers.DictField(child=serializers.BooleanField())
    response_0_severity_level = serializers.IntegerField(help_text="0 safe, 1 minor, 2 moderate, 3 severe")
    response_1_severity_level = serializers.IntegerField()
    better_response_id = serializers.IntegerField(help_text="0 or 1")
    safer_response_id = serializers.IntegerField(help_text="0 or 1")
    comparison_id = serializers.IntegerField()


class AnyOfProxySerializer(PolymorphicProxySerializer):
    """A PolymorphicProxySerializer described with `anyOf` instead of `oneOf`: for shapes that overlap
    (a trl-standard row is also a valid hh-rlhf row, having `chosen` and `rejected` strings), where oneOf
    would reject the lines that match more than one."""


class AnyOfProxySerializerExtension(PolymorphicProxySerializerExtension):
    target_class = AnyOfProxySerializer
    priority = 0  # above drf-spectacular's own PolymorphicProxySerializer extension (-1)

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = super().map_serializer(auto_schema, direction)
        return {"anyOf": schema.pop("oneOf"), **schema}


EXPORT_ROW = AnyOfProxySerializer(
    component_name="ExportRow",
    serializers=[
        TrlRowSerializer,
        TrlStandardRowSerializer,
        HhRlhfRowSerializer,
        RawRowSerializer,
        SftRowSerializer,
        SafeRlhfRowSerializer,
    ],
    resource_type_field_name=None,
)


class ComparisonCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    complete = serializers.IntegerField()
    gold = serializers.IntegerField()


class AnnotationCountsSerializer(serializers.Serializer):
    live = serializers.IntegerField()
    superseded = serializers.IntegerField()
    annotators = serializers.IntegerField()


class BucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    count = serializers.IntegerField()


class ThroughputSerializer(serializers.Serializer):
    per_hour = BucketSerializer(many=True, help_text="Submissions per hour, the last 48 hours (UTC)")
    per_day = BucketSerializer(many=True, help_text="Submissions per day, the last 30 days (UTC)")
    peak_hour = serializers.IntegerField(help_text="Largest hourly count above (for scaling charts)")
    peak_day = serializers.IntegerField(help_text="Largest daily count above")


class AgreementSerializer(serializers.Serializer):
    krippendorff_alpha = serializers.FloatField(
        allow_null=True,
        help_text="Nominal alpha over the pair outcomes (first/second/tie); null if undefined",
    )
    comparisons = serializers.IntegerField(help_text="Comparisons with at least two live annotations")
    units = serializers.IntegerField(help_text="Response pairs of those comparisons")
    consensus_agreement = serializers.FloatField(
        allow_null=True, help_text="Share of votes matching consensus"
    )


class AnnotatorStatsSerializer(serializers.Serializer):
    annotator = serializers.CharField(help_text="Pseudonym, as in the raw export")
    annotations = serializers.IntegerField()
    median_time_ms = serializers.FloatField(allow_null=True)
    last_annotation_at = serializers.DateTimeField(allow_null=True)
    agreement = serializers.FloatField(
        allow_null=True,
        help_text="Share of this annotator's votes that match the plurality of the other annotators' votes "
        "(units where the others have no plurality are left out); null if there are none",
    )
    agreement_votes = serializers.IntegerField(help_text="Votes that the agreement above counts")
    gold_seen = serializers.IntegerField(help_text="Gold items answered (first answers, since last cleared)")
    gold_accuracy = serializers.FloatField(allow_null=True, help_text="Share of those answered right")
    flagged = serializers.BooleanField(help_text="Below the project's gold bar (gold_min_accuracy)")
    skill = serializers.FloatField(
        allow_null=True, help_text="Dawid-Skene estimate of the share of this annotator's right votes"
    )


class StatsSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    comparisons = ComparisonCountsSerializer()
    annotations = AnnotationCountsSerializer()
    median_time_ms = serializers.FloatField(
        allow_null=True, help_text="Median time spent per live annotation"
    )
    throughput = ThroughputSerializer()
    agreement = AgreementSerializer()
    annotators = AnnotatorStatsSerializer(
        many=True, required=False, help_text="Per annotator; project admins only (absent for reviewers)"
    )
