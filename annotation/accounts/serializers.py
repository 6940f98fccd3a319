"""Input and output shapes of the token endpoints."""

from rest_framework import serializers

from annotation.models import ApiToken


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=100_000)


class ApiTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "current"]

    def get_current(self, token: ApiToken) -> bool:
        return token.pk == self.context.get("current_id")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key: shown once, send it as `Authorization: Token <key>`")
    id = serializers.IntegerField()
    name = serializers.CharField()
    expires_at = serializers.DateTimeField()
