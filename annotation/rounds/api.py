"""REST endpoints for training rounds (DESIGN section 7): launch, watch, cancel, and the policy versions with
their human and reward-model win rates. Project admins only."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.access import project_for_user
from annotation.models import Role, RoundKind, TrainingRound
from annotation.rest import ErrorSerializer
from annotation.rounds.leaderboard import project_policies
from annotation.rounds.selectors import round_for_user
from annotation.rounds.services import round_cancel, round_launch

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid kind or config; `field` names it"),
    403: OpenApiResponse(ErrorSerializer, description="Only project admins manage rounds"),
    404: OpenApiResponse(ErrorSerializer, description="No such project or round, or not visible to you"),
}


class RoundSerializer(serializers.ModelSerializer):
    reward_model_version = serializers.IntegerField(
        source="reward_model.version", allow_null=True, default=None
    )
    policy_version = serializers.IntegerField(source="policy.version", allow_null=True, default=None)
    snapshot_sha256 = serializers.CharField(source="snapshot.sha256", allow_null=True, default=None)

    class Meta:
        model = TrainingRound
        fields = [
            "id", "kind", "status", "stage", "progress", "metrics", "error", "config", "trigger",
            "cancel_requested", "snapshot_sha256", "reward_model_version", "policy_version",
            "created_at", "started_at", "finished_at", "heartbeat_at",
        ]  # fmt: skip
        read_only_fields = fields


class RoundLaunchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RoundKind.choices, default=RoundKind.PPO)
    config = serializers.DictField(required=False, default=dict, help_text='Budgets; {"preset": "smoke"}')


class RoundCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class RoundListView(APIView):
    @extend_schema(responses={200: RoundSerializer(many=True), **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        rounds = project.rounds.select_related("reward_model", "policy", "snapshot").order_by("-created_at")[
            :100
        ]
        return Response(RoundSerializer(rounds, many=True).data)

    @extend_schema(
        request=RoundLaunchSerializer,
        responses={
            202: RoundCreatedSerializer,
            409: OpenApiResponse(ErrorSerializer, description="A round is already active"),
            **ERRORS,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        serializer = RoundLaunchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        training_round = round_launch(
            project=project,
            kind=serializer.validated_data["kind"],
            config=serializer.validated_data["config"],
            trigger="api",
            user=request.user,
        )
        return Response(
            {"id": training_round.pk, "status": training_round.status}, status=status.HTTP_202_ACCEPTED
        )


class RoundDetailView(APIView):
    @extend_schema(responses={200: RoundSerializer, **ERRORS})
    def get(self, request: Request, round_id: int) -> Response:
        return Response(RoundSerializer(round_for_user(user=request.user, round_id=round_id)).data)


class RoundCancelView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: RoundSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The round already finished"),
            **ERRORS,
        },
    )
    def post(self, request: Request, round_id: int) -> Response:
        training_round = round_cancel(training_round=round_for_user(user=request.user, round_id=round_id))
        return Response(RoundSerializer(training_round).data)


class HeadToHeadSerializer(serializers.Serializer):
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    ties = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class PolicyVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)
    round = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    rm_win_rate = serializers.FloatField(allow_null=True, help_text="Reward-model-judged, eval prompts")
    rm_ci_low = serializers.FloatField(allow_null=True)
    rm_ci_high = serializers.FloatField(allow_null=True)
    kl_to_parent = serializers.FloatField(allow_null=True)
    human = HeadToHeadSerializer(allow_null=True, help_text="Annotators' votes over the parent (Wilson 95%)")
    is_current = serializers.BooleanField()


class StandingSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    score = serializers.FloatField(help_text="Bradley-Terry log-strength, centred on the versions' mean")
    ci_low = serializers.FloatField()
    ci_high = serializers.FloatField()
    comparisons = serializers.IntegerField()


class PoliciesSerializer(serializers.Serializer):
    versions = PolicyVersionSerializer(many=True)
    leaderboard = StandingSerializer(many=True)
    games = serializers.IntegerField(help_text="Annotated response pairs between two policy versions")


class PolicyListView(APIView):
    @extend_schema(responses={200: PoliciesSerializer, **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        return Response(PoliciesSerializer(project_policies(project=project)).data)
