"""What an annotator is shown for a task: the conversation and the responses in stored display order,
rendered safely, with no trace of which model wrote which response."""

from datetime import datetime
from typing import Any

from annotation.prepared import fetchone, json_value
from annotation.rendering import render_markdown

# One prepared statement for the whole payload: it runs once per comparison an annotator sees.
_TASK_SQL = """
SELECT c.id, pr.messages, p.rating_axes, p.rating_scale_max, p.responses_per_task,
       p.allow_edits, p.safety_categories, p.dual_preference,
       (SELECT json_agg(json_build_array(r.public_id, r.text) ORDER BY ci.position)
          FROM annotation_comparisonitem ci JOIN annotation_response r ON r.id = ci.response_id
         WHERE ci.comparison_id = c.id),
       (SELECT count(*) FROM annotation_annotation a
         WHERE a.annotator_id = %(user)s AND a.project_id = c.project_id AND a.is_live)
FROM annotation_comparison c
JOIN annotation_prompt pr ON pr.id = c.prompt_id
JOIN annotation_project p ON p.id = c.project_id
WHERE c.id = %(comparison)s
"""


def task_payload(*, comparison_id: int, leased_until: datetime, user_id: int) -> dict[str, Any]:
    row = fetchone(_TASK_SQL, {"comparison": comparison_id, "user": user_id})
    if row is None:
        raise LookupError(f"comparison {comparison_id} does not exist")
    _, messages, axes, scale_max, per_task, allow_edits, categories, dual, responses, done = row
    return {
        "id": comparison_id,
        "kind": "scoring" if per_task == 1 else "ranking" if per_task > 2 else "pairwise",
        "prompt": {
            "messages": [
                {"role": m["role"], "content": m["content"], "html": render_markdown(m["content"])}
                for m in json_value(messages)
            ]
        },
        "responses": [
            {"id": str(public_id), "text": text, "html": render_markdown(text)}
            for public_id, text in json_value(responses)
        ],
        "rating_axes": json_value(axes),
        "rating_scale_max": scale_max,
        "lease_expires_at": leased_until.isoformat(),
        "done": done,
        # What else this task collects (issue 11): rewrites, harm flags, a "which is safer" verdict.
        "allow_edits": allow_edits,
        "safety_categories": json_value(categories),
        "dual_preference": dual,
    }
