from django.urls import path

from annotation.api import data_views, rounds, views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("projects/", views.ProjectListView.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", views.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<slug:slug>/members/", views.MemberListView.as_view(), name="api-members"),
    path("projects/<slug:slug>/prompts/import/", views.PromptImportView.as_view(), name="api-import"),
    path("projects/<slug:slug>/tasks/next/", views.TaskNextView.as_view(), name="api-task-next"),
    path("tasks/<int:task_id>/annotations/", views.AnnotationCreateView.as_view(), name="api-annotations"),
    path("tasks/<int:task_id>/skip/", views.TaskSkipView.as_view(), name="api-skip"),
    path("tasks/<int:task_id>/heartbeat/", views.TaskHeartbeatView.as_view(), name="api-heartbeat"),
    path("projects/<slug:slug>/rounds/", rounds.RoundListView.as_view(), name="api-rounds"),
    path("rounds/<int:round_id>/", rounds.RoundDetailView.as_view(), name="api-round"),
    path("rounds/<int:round_id>/cancel/", rounds.RoundCancelView.as_view(), name="api-round-cancel"),
]

# Data out: exports and stats (annotation/api/data_views.py).
urlpatterns += [
    path("projects/<slug:slug>/export/", data_views.ProjectExportView.as_view(), name="api-export"),
    path("projects/<slug:slug>/stats/", data_views.ProjectStatsView.as_view(), name="api-stats"),
]
