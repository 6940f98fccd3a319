"""factory_boy factories for the annotation models."""

import uuid

import factory
from django.contrib.auth import get_user_model

from annotation.data.comparisons import comparisons_create
from annotation.models import Comparison, Membership, PolicyVersion, Project, Prompt, Response, Role
from annotation.projects.services import project_create
from annotation.queue.leasing import task_lease_next
from annotation.queue.submission import annotation_submit

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    slug = factory.Sequence(lambda n: f"project-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.title())
    responses_per_task = 2
    overlap = 1
    rating_axes = ["helpfulness", "harmlessness"]


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyVersion

    project = factory.SubFactory(ProjectFactory)
    version = factory.Sequence(lambda n: n + 1)
    model_ref = "tiny-causal-lm"


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.LazyFunction(lambda: uuid.uuid4().hex[:12])
    messages = factory.LazyFunction(lambda: [{"role": "user", "content": "Say hello."}])


def member(project: Project, role: str = Role.ANNOTATOR, username: str | None = None):
    user = UserFactory(username=username) if username else UserFactory()
    Membership.objects.create(project=project, user=user, role=role)
    return user


def make_comparisons(project: Project, count: int, *, texts: list[str] | None = None) -> list:
    """count prompts, each with the project's number of responses, as open comparisons."""
    groups = []
    for index in range(count):
        prompt = PromptFactory(project=project, external_id=f"p{index}-{uuid.uuid4().hex[:6]}")
        groups.append(
            [
                Response.objects.create(
                    prompt=prompt,
                    text=(texts[k] if texts and k < len(texts) else f"Response {k} to prompt {index}"),
                    source_model=f"model-{k}",
                )
                for k in range(project.responses_per_task)
            ]
        )
    return comparisons_create(project=project, groups=groups)


# A round config that runs every stage for real with tiny random models in seconds, and accepts the policy
# whatever its (random) win rate, so the loop can be checked end to end.
TINY_ROUND = {
    "preset": "smoke",
    "reward": {"model": "tiny-reward-model", "max_steps": 6},
    "kl_budget": 1000.0,
    "require_improvement": False,
}


def annotate_all(project, users) -> int:
    done = 0
    for user in users:
        while (lease := task_lease_next(project=project, user=user)) is not None:
            items = Comparison.objects.get(pk=lease.comparison_id).items.order_by("position")
            ids = [str(i.response.public_id) for i in items]
            # A learnable rule for the reward model: the longer response wins.
            texts = {str(i.response.public_id): i.response.text for i in items}
            ranking = sorted(ids, key=lambda rid: -len(texts[rid]))
            annotation_submit(
                comparison_id=lease.comparison_id,
                user=user,
                client_token=uuid.uuid4().hex,
                ranking=[[rid] for rid in ranking],
                strength="clear",
            )
            done += 1
    return done


def tiny_loop_project(n_comparisons: int = 10):
    admin = UserFactory(username=f"admin-{uuid.uuid4().hex[:6]}")
    project = project_create(
        slug=f"loop-{uuid.uuid4().hex[:6]}", name="Loop", created_by=admin, policy="tiny-causal-lm"
    )
    make_comparisons(
        project, n_comparisons, texts=["short", "a much longer and more detailed answer with several words"]
    )
    for index in range(6):  # fresh prompts for the generate stage, and an eval split
        PromptFactory(project=project, external_id=f"fresh-{index}", split="eval" if index < 2 else "train")
    annotator = member(project, Role.ANNOTATOR)
    annotate_all(project, [annotator])
    return project, admin, annotator


def loop_project_with_distinct_prompts(n_comparisons: int = 10):
    """tiny_loop_project whose prompts all differ (the default ones are all "Say hello."), so a share of
    them can be held out prompt-disjointly for reward-model evaluation."""
    project, admin, annotator = tiny_loop_project(n_comparisons)
    for index, prompt in enumerate(Prompt.objects.filter(project=project).order_by("id")):
        prompt.messages = [{"role": "user", "content": f"Question number {index}: say something."}]
        prompt.save(update_fields=["messages"])
    return project, admin, annotator
