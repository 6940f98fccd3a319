"""HTML forms drawn from the REST API's input serializers: the same field names, the same validation and the
same messages. A page renders `form_fields(...)`, turns a POST into the API's data shape with `form_data`,
hands that to the serializer and the service, and shows `field_errors` beside the fields.

Driven by the serializer's fields, so a setting added to the API appears on the page with no page change."""

import json
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers

from annotation.errors import ApplicationError

LABELS = {
    "slug": _("Slug"),
    "name": _("Name"),
    "guidelines": _("Guidelines (markdown)"),
    "responses_per_task": _("Responses per task"),
    "overlap": _("Overlap (annotations wanted per comparison)"),
    "rating_axes": _("Rating axes"),
    "rating_scale_max": _("Rating scale maximum"),
    "lease_seconds": _("Lease (seconds)"),
    "gold_rate": _("Gold rate (0..1)"),
    "generation_defaults": _("Generation defaults (JSON)"),
    "auto_round_enabled": _("Launch rounds on a schedule"),
    "auto_round_min_new_preferences": _("New preferences that start a scheduled round"),
    "policy": _("First policy (model reference)"),
    "username": _("Username"),
    "role": _("Role"),
    "format": _("Format"),
    "aggregation": _("Aggregation"),
    "split": _("Split"),
    "min_agreement": _("Minimum agreement (0..1)"),
    "min_annotations": _("Minimum annotations"),
    "since": _("Annotated since (ISO 8601, with offset)"),
    "until": _("Annotated before (ISO 8601, with offset)"),
    "policy_version": _("Policy version"),
    "file": _("File"),
    "gold_feedback": _("Show annotators the expected answer after a gold item"),
    "gold_min_accuracy": _("Gold accuracy bar (0..1)"),
    "gold_min_seen": _("Gold items seen before the bar applies"),
    "gold_exclude_below": _("Leave flagged annotators out of consensus and exports"),
    "review_agreement_below": _("Send to review below this agreement (0..1)"),
    "allow_edits": _("Annotators may rewrite responses"),
    "safety_categories": _("Harm categories (JSON)"),
    "dual_preference": _("Also ask which response is safer"),
}
# Settings the API types loosely (their services check them, with their own messages) drawn as the control
# their values are.
WIDGETS = {"allow_edits": "checkbox", "dual_preference": "checkbox", "rating_scale_max": "number"}
# Choice labels the page translates (the API's choices are their stored values).
CHOICE_LABELS = {"admin": _("Admin"), "reviewer": _("Reviewer"), "annotator": _("Annotator")}
HELP = {
    "rating_axes": _("Comma-separated, lowercase: helpfulness, harmlessness, honesty"),
    "responses_per_task": _("1 = scoring, 2 = pairwise, 3..6 = ranking; fixed once comparisons exist"),
    "safety_categories": _(
        '"default" for the built-in list (modelled on PKU-SafeRLHF), [] for none, or a list of slugs and '
        '{"slug": ..., "description": ...} objects'
    ),
    "since": _("For example 2025-01-31T00:00:00Z"),
    "until": _("For example 2025-02-01T00:00:00Z; a time without an offset is rejected"),
    "format": _(
        "trl and trl-standard: preference pairs; hh-rlhf: transcripts; raw: one row per annotation; sft: the "
        "annotators' rewrites; safe-rlhf: PKU-SafeRLHF's columns; trl-harmless: the safer-response pairs"
    ),
    "split": _("Prompt split; all if unset"),
    "min_agreement": _("Keep pairs whose share of agreeing annotators is at least this"),
    "min_annotations": _("Keep comparisons with at least this many live annotations (default 1)"),
    "policy_version": _("Only comparisons with a response from this policy version number"),
    "gold_rate": _("Share of tasks drawn from gold items"),
    "lease_seconds": _("How long an annotator holds a task before it goes back to the queue (30 to 86400)"),
    "policy": _("A built-in name (smollm2-135m-instruct), a local directory or a Hub id"),
}


@dataclass
class FormField:
    name: str
    label: str
    widget: str  # text, textarea, number, checkbox, select, list, json, markdown
    value: Any
    required: bool
    help: str = ""
    error: str = ""
    choices: list[tuple[str, str]] | None = None
    step: str = "1"


def _widget(field: serializers.Field, name: str) -> tuple[str, str]:
    if name == "guidelines":
        return "markdown", "1"
    if name in WIDGETS:
        return WIDGETS[name], "1"
    if isinstance(field, serializers.BooleanField):
        return "checkbox", "1"
    if isinstance(field, serializers.ChoiceField):
        return "select", "1"
    if isinstance(field, serializers.ListField):
        return "list", "1"
    if isinstance(field, serializers.DictField | serializers.JSONField):
        return "json", "1"
    if isinstance(field, serializers.FloatField):
        return "number", "any"
    if isinstance(field, serializers.IntegerField):
        return "number", "1"
    return "text", "1"


def _shown(widget: str, value: Any) -> Any:
    if value is None:
        return ""
    if widget == "list":
        return ", ".join(str(item) for item in value)
    if widget == "json":
        return json.dumps(value, ensure_ascii=False, indent=1) if value else ""
    return value


def form_fields(
    serializer_class: type[serializers.Serializer],
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    submitted: QueryDict | None = None,
    exclude: tuple[str, ...] = (),
) -> list[FormField]:
    """The serializer's fields as the page draws them: current values (or what was submitted, after an
    error) and each field's error."""
    values, errors = values or {}, errors or {}
    fields = []
    for name, field in serializer_class().fields.items():
        if name in exclude or field.read_only:
            continue
        widget, step = _widget(field, name)
        if submitted is not None:
            value: Any = (name in submitted) if widget == "checkbox" else submitted.get(name, "")
        else:
            default = None if field.default is serializers.empty else field.default
            value = _shown(widget, values.get(name, default))
        choices = None
        if widget == "select":
            choices = [
                (str(key), str(CHOICE_LABELS.get(str(key), label))) for key, label in field.choices.items()
            ]
        fields.append(
            FormField(
                name=name,
                label=str(LABELS.get(name, name.replace("_", " ").capitalize())),
                widget=widget,
                value=value,
                required=bool(field.required),
                help=str(HELP.get(name, field.help_text or "")),
                error=errors.get(name, ""),
                choices=choices,
                step=step,
            )
        )
    return fields


def form_data(
    serializer_class: type[serializers.Serializer], post: QueryDict, *, exclude: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A form post in the API's data shape: lists split on commas, JSON fields parsed, an unchecked box is
    false, an empty optional value is left out (as the API's clients would leave it out)."""
    data: dict[str, Any] = {}
    fields = serializer_class().fields
    for name, field in fields.items():
        if name in exclude or field.read_only:
            continue
        widget, _step = _widget(field, name)
        if widget == "checkbox":
            data[name] = name in post
            continue
        if name not in post:
            continue
        raw = post.get(name, "")
        if widget == "list":
            data[name] = [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
        elif widget == "json":
            if not raw.strip() and isinstance(field, serializers.JSONField) and not field.required:
                continue  # left out, as a client would leave it out (a DictField's empty box clears it)
            try:
                data[name] = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise exceptions.ValidationError({name: [f"not valid JSON: {exc}"]}) from exc
        elif raw == "" and not field.required and widget != "markdown":
            continue
        elif isinstance(field, serializers.JSONField):  # a number typed loosely by the API (WIDGETS)
            try:
                data[name] = int(raw)
            except ValueError:
                data[name] = raw  # the service names the field and says what it must be
        else:
            data[name] = raw
    # What the form does not know (a hand-made post) goes on to the serializer, which rejects it by name.
    for name in post:
        if name not in fields and name != "csrfmiddlewaretoken":
            data[name] = post.get(name)
    return data


def _first(detail: Any) -> str:
    if isinstance(detail, dict) and detail:
        return _first(next(iter(detail.values())))
    if isinstance(detail, list) and detail:
        return _first(detail[0])
    return str(detail)


def field_errors(exc: Exception) -> dict[str, str]:
    """{field: message} of a serializer's ValidationError or a service's ApplicationError: the messages the
    API answers with."""
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        return {str(name): _first(detail) for name, detail in exc.detail.items()}
    if isinstance(exc, ApplicationError):
        return {exc.field or "form": exc.message}
    return {"form": _first(getattr(exc, "detail", str(exc)))}
