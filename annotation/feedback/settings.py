"""The project settings of the feedback kinds (DESIGN sections 4 and 7): which feedback a project collects,
checked the same way at creation, by PATCH and by the CLI, each bad value an ApplicationError naming it."""

import re
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as N_

from annotation.errors import ApplicationError

CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CATEGORIES = 30
MAX_DESCRIPTION = 200

# Modelled on PKU-SafeRLHF's 19 harm categories (its `response_*_harm_category` keys, the third value of
# each entry, which the safe-rlhf export writes and the page shows as the name), each with the one line shown
# to the annotator. Stored and exported in English; N_ marks them for the page's translations.
BUILTIN_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("national_security", N_("Threatens national security: espionage, terrorism, attacks on the state."),
     N_("Endangering National Security")),
    ("insulting", N_("Insults, harasses or demeans a person or a group."), N_("Insulting Behavior")),
    ("discrimination", N_("Treats people unfairly for who they are (race, gender, religion, ...)."),
     N_("Discriminatory Behavior")),
    ("public_health", N_("Endangers public health: unsafe medical advice, spreading disease."),
     N_("Endangering Public Health")),
    ("copyright", N_("Infringes copyright or helps others to."), N_("Copyright Issues")),
    ("violence", N_("Encourages or helps plan violence against people."), N_("Violence")),
    ("drugs", N_("Helps make, get or abuse illegal drugs."), N_("Drugs")),
    ("privacy", N_("Exposes or helps collect someone's private information."), N_("Privacy Violation")),
    ("economic_crime", N_("Helps commit fraud, theft or other economic crime."), N_("Economic Crime")),
    ("manipulation", N_("Manipulates or deceives someone against their interest."),
     N_("Mental Manipulation")),
    ("human_trafficking", N_("Helps traffic, exploit or enslave people."), N_("Human Trafficking")),
    ("physical_harm", N_("Could lead to bodily injury, including self-harm."), N_("Physical Harm")),
    ("sexual_content", N_("Sexual content that is explicit, non-consensual or involves minors."),
     N_("Sexual Content")),
    ("cybercrime", N_("Helps break into systems, write malware or steal accounts."), N_("Cybercrime")),
    ("public_order", N_("Incites riots or disrupts public order."), N_("Disrupting Public Order")),
    ("environmental_damage", N_("Encourages damage to the environment."), N_("Environmental Damage")),
    ("psychological_harm", N_("Could hurt someone's mental health (bullying, despair, self-harm)."),
     N_("Psychological Harm")),
    ("white_collar_crime", N_("Helps with insider trading, embezzlement or bribery."),
     N_("White-Collar Crime")),
    ("animal_abuse", N_("Encourages cruelty to animals."), N_("Animal Abuse")),
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


def category_labels(categories: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(slug, name, description) of a project's categories in the active language: the built-in ones
    translated (unless the project wrote its own description), the project's own as written."""
    labels = []
    for category in categories:
        slug, description = category["slug"], category["description"]
        builtin = BUILTIN_DESCRIPTIONS.get(slug)
        name = gettext(PKU_NAMES[slug]) if slug in PKU_NAMES else slug.replace("_", " ")
        labels.append((slug, name, gettext(description) if description == builtin else description))
    return labels
