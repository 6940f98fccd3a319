"""The project settings of the feedback kinds (DESIGN sections 4 and 7): which feedback a project collects,
checked the same way at creation, by PATCH and by the CLI, each bad value an ApplicationError naming it."""

import re
from typing import Any

from annotation.errors import ApplicationError

CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CATEGORIES = 30
MAX_DESCRIPTION = 200

# Modelled on PKU-SafeRLHF's 19 harm categories (its `response_*_harm_category` keys, the third value of
# each entry, which the safe-rlhf export writes), each with the one line shown to the annotator.
BUILTIN_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("national_security", "Threatens national security: espionage, terrorism, attacks on the state.",
     "Endangering National Security"),
    ("insulting", "Insults, harasses or demeans a person or a group.", "Insulting Behavior"),
    ("discrimination", "Treats people unfairly for who they are (race, gender, religion, ...).",
     "Discriminatory Behavior"),
    ("public_health", "Endangers public health: unsafe medical advice, spreading disease.",
     "Endangering Public Health"),
    ("copyright", "Infringes copyright or helps others to.", "Copyright Issues"),
    ("violence", "Encourages or helps plan violence against people.", "Violence"),
    ("drugs", "Helps make, get or abuse illegal drugs.", "Drugs"),
    ("privacy", "Exposes or helps collect someone's private information.", "Privacy Violation"),
    ("economic_crime", "Helps commit fraud, theft or other economic crime.", "Economic Crime"),
    ("manipulation", "Manipulates or deceives someone against their interest.", "Mental Manipulation"),
    ("human_trafficking", "Helps traffic, exploit or enslave people.", "Human Trafficking"),
    ("physical_harm", "Could lead to bodily injury, including self-harm.", "Physical Harm"),
    ("sexual_content", "Sexual content that is explicit, non-consensual or involves minors.",
     "Sexual Content"),
    ("cybercrime", "Helps break into systems, write malware or steal accounts.", "Cybercrime"),
    ("public_order", "Incites riots or disrupts public order.", "Disrupting Public Order"),
    ("environmental_damage", "Encourages damage to the environment.", "Environmental Damage"),
    ("psychological_harm", "Could hurt someone's mental health (bullying, despair, self-harm).",
     "Psychological Harm"),
    ("white_collar_crime", "Helps with insider trading, embezzlement or bribery.", "White-Collar Crime"),
    ("animal_abuse", "Encourages cruelty to animals.", "Animal Abuse"),
)  # fmt: skip
BUILTIN_DESCRIPTIONS = {slug: description for slug, description, _ in BUILTIN_CATEGORIES}
PKU_NAMES = {slug: name for slug, _, name in BUILTIN_CATEGORIES}
FEEDBACK_FIELDS = ("rating_scale_max", "allow_edits", "safety_categories", "dual_preference")


def default_categories() -> list[dict[str, str]]:
    return [{"slug": slug, "description": description} for slug, description, _ in BUILTIN_CATEGORIES]


def clean_categories(value: Any) -> list[dict[str, str]]:
    """`"default"` (the built-in list), `[]` (no harm flags) or a list whose items are built-in slugs or
    `{slug, description}` objects of the project's own; stored as `[{slug, description}]`."""
    field = "safety_categories"
    if value == "default":
        return default_categories()
    if not isinstance(value, list) or len(value) > MAX_CATEGORIES:
        raise ApplicationError(
            f'must be "default" or a list of at most {MAX_CATEGORIES} categories', field=field
        )
    cleaned: list[dict[str, str]] = []
    for item in value:
        if isinstance(item, str):
            if item not in BUILTIN_DESCRIPTIONS:
                raise ApplicationError(
                    f"{item!r} is not a built-in category; give your own as {{slug, description}}",
                    field=field,
                )
            cleaned.append({"slug": item, "description": BUILTIN_DESCRIPTIONS[item]})
            continue
        if not isinstance(item, dict) or set(item) != {"slug", "description"}:
            raise ApplicationError("each category is a slug or an object {slug, description}", field=field)
        slug, description = item["slug"], item["description"]
        if not isinstance(slug, str) or not CATEGORY_RE.match(slug):
            raise ApplicationError(
                f"slug {slug!r} must be lowercase letters, digits or _ (at most 40)", field=field
            )
        if (
            not isinstance(description, str)
            or not description.strip()
            or len(description) > MAX_DESCRIPTION
            or "\n" in description
            or "\x00" in description
        ):
            raise ApplicationError(
                f"the description of {slug!r} must be one line of 1..{MAX_DESCRIPTION} characters",
                field=field,
            )
        cleaned.append({"slug": slug, "description": description.strip()})
    slugs = [item["slug"] for item in cleaned]
    if len(set(slugs)) != len(slugs):
        raise ApplicationError("category slugs must be unique", field=field)
    return cleaned


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ApplicationError("must be true or false", field=field)
    return value


def clean_feedback_settings(
    changes: dict[str, Any], *, responses_per_task: int, rating_axes: list[str]
) -> dict[str, Any]:
    """The feedback settings in `changes` checked against each other and the project's shape (its
    responses per task and axes after the change); returns them cleaned."""
    cleaned: dict[str, Any] = {}
    if "rating_scale_max" in changes:
        scale = changes["rating_scale_max"]
        if isinstance(scale, bool) or not isinstance(scale, int) or not 2 <= scale <= 10:
            raise ApplicationError("must be an integer between 2 and 10", field="rating_scale_max")
        cleaned["rating_scale_max"] = scale
    if "allow_edits" in changes:
        cleaned["allow_edits"] = _boolean(changes["allow_edits"], "allow_edits")
    if "safety_categories" in changes:
        cleaned["safety_categories"] = clean_categories(changes["safety_categories"])
    if "dual_preference" in changes:
        cleaned["dual_preference"] = _boolean(changes["dual_preference"], "dual_preference")
        if cleaned["dual_preference"] and responses_per_task == 1:
            raise ApplicationError(
                "needs two or more responses per task (a scoring task has nothing to compare)",
                field="dual_preference",
            )
    if responses_per_task == 1 and not rating_axes:
        raise ApplicationError(
            "a scoring project (responses_per_task 1) needs at least one axis", field="rating_axes"
        )
    return cleaned
