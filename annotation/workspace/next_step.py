"""What an admin should do next with a project, read from its counts: import prompts, fill the queue,
annotate, launch a round (the dashboard's empty state)."""

from typing import Any


def next_step(*, overview: dict[str, Any], rounds: int) -> str | None:
    """One of "import", "fill", "annotate", "launch", or None when the project is running."""
    if not overview["prompts"]:
        return "import"
    if not overview["comparisons"]["total"]:
        return "fill"
    if not overview["annotations"]:
        return "annotate"
    if not rounds:
        return "launch"
    return None
