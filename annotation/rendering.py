"""Model output and prompts are untrusted: render markdown to HTML with raw HTML disabled, then sanitise the
result with an allowlist (nh3) so that no script, handler or javascript: URL survives."""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
ALIGN_CLASSES = {"align-left", "align-right", "align-center"}


def _alignment_as_class(state: StateCore) -> None:
    # The Content-Security-Policy (style-src 'self') drops style attributes in HTML the page inserts, so a
    # table column's alignment travels as a class (markdown.css) instead of markdown-it's style="text-align".
    for token in state.tokens:
        if token.type in {"th_open", "td_open"} and (style := token.attrs.pop("style", None)):
            token.attrs["class"] = "align-" + str(style).removeprefix("text-align:")


_md.core.ruler.push("alignment_as_class", _alignment_as_class)

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "ol": {"start"},
    "th": {"class"},
    "td": {"class"},
}


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class" and element in {"th", "td"}:
        return value if value in ALIGN_CLASSES else None
    if attribute == "class":
        # Only the language marker of fenced code blocks.
        return value if value.startswith("language-") and value[9:].replace("-", "").isalnum() else None
    return value


# Overlapping annotators see the same responses, so rendering is cached, but only for ordinary sizes: a
# thousand 200 KB texts would pin half a gigabyte in every web worker.
CACHED_TEXT_CHARS = 16_384


def render_markdown(text: str) -> str:
    """Sanitised HTML for untrusted markdown text."""
    return _render_cached(text) if len(text) <= CACHED_TEXT_CHARS else _render(text)


def _render(text: str) -> str:
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_render_cached = lru_cache(maxsize=1024)(_render)
