"""factory_boy factories for the annotation models."""

import uuid

import factory
from django.contrib.auth import get_user_model

from annotation.models import Membership, PolicyVersion, Project, Prompt, Response, Role
from annotation.services.comparisons import comparisons_create

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
