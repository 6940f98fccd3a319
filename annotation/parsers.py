"""The API's request parsers (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES). A module of its own: DRF imports its
parser settings while rest_framework.views loads, so this must not import the views."""

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser (no NaN or Infinity), and a body nested past Python's recursion limit is a
    400 like any other malformed JSON, not a RecursionError and a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from error
