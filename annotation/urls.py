"""URLs of the app: the pages (`urlpatterns`, mounted at /) and the REST API (`api_urlpatterns`, mounted at
/api/v1/ by config/urls.py). Each domain package holds its own views."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from annotation import views
from annotation.accounts import api as accounts_api
from annotation.data import api as data_api
from annotation.projects import api as projects_api
from annotation.queue import api as queue_api
from annotation.review import api as review_api
from annotation.rounds import api as rounds_api
from annotation.rounds import views as rounds_views
from annotation.workspace import urls as workspace_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django's views: signed-in users only, and the session survives the change (update_session_auth_hash).
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(
            template_name="password_change.html", success_url=reverse_lazy("password-change-done")
        ),
        name="password-change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="password_change_done.html"),
        name="password-change-done",
    ),
    path("p/<slug:slug>/", views.dashboard, name="dashboard"),
    path("p/<slug:slug>/annotate/", views.annotate, name="annotate"),
    path("p/<slug:slug>/review/", views.review, name="review"),
    path("p/<slug:slug>/rounds/panel/", rounds_views.rounds_panel, name="rounds-panel"),
    path("p/<slug:slug>/rounds/launch/", rounds_views.round_launch_form, name="round-launch"),
    path("p/<slug:slug>/rounds/<int:round_id>/cancel/", rounds_views.round_cancel_form, name="round-cancel"),
    *workspace_urls.urlpatterns,  # the admin's workspace: /projects/new/, settings, members, data, ...
]

api_urlpatterns = [
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", accounts_api.TokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<int:token_id>/", accounts_api.TokenDetailView.as_view(), name="api-token-detail"),
    path("projects/", projects_api.ProjectListView.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", projects_api.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<slug:slug>/members/", projects_api.MemberListView.as_view(), name="api-members"),
    path(
        "projects/<slug:slug>/members/<str:username>/",
        projects_api.MemberDetailView.as_view(),
        name="api-member",
    ),
    path("projects/<slug:slug>/prompts/import/", data_api.PromptImportView.as_view(), name="api-import"),
    path("projects/<slug:slug>/tasks/next/", queue_api.TaskNextView.as_view(), name="api-task-next"),
    path(
        "tasks/<int:task_id>/annotations/", queue_api.AnnotationCreateView.as_view(), name="api-annotations"
    ),
    path("tasks/<int:task_id>/skip/", queue_api.TaskSkipView.as_view(), name="api-skip"),
    path("tasks/<int:task_id>/heartbeat/", queue_api.TaskHeartbeatView.as_view(), name="api-heartbeat"),
    path("projects/<slug:slug>/rounds/", rounds_api.RoundListView.as_view(), name="api-rounds"),
    path("projects/<slug:slug>/policies/", rounds_api.PolicyListView.as_view(), name="api-policies"),
    path("rounds/<int:round_id>/", rounds_api.RoundDetailView.as_view(), name="api-round"),
    path("rounds/<int:round_id>/cancel/", rounds_api.RoundCancelView.as_view(), name="api-round-cancel"),
    # Data out: exports and stats.
    path("projects/<slug:slug>/export/", data_api.ProjectExportView.as_view(), name="api-export"),
    path("projects/<slug:slug>/stats/", data_api.ProjectStatsView.as_view(), name="api-stats"),
    # Gold items, annotator quality and the review queue (issue 12).
    path("projects/<slug:slug>/review/next/", review_api.ReviewNextView.as_view(), name="api-review-next"),
    path("comparisons/<int:comparison_id>/review/", review_api.ReviewCreateView.as_view(), name="api-review"),
    path("comparisons/<int:comparison_id>/gold/", review_api.GoldCreateView.as_view(), name="api-gold"),
    path(
        "projects/<slug:slug>/annotators/<str:annotator>/clear-flag/",
        review_api.AnnotatorFlagClearView.as_view(),
        name="api-annotator-clear-flag",
    ),
]
