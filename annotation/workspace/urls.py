"""The workspace's pages (included by annotation/urls.py). /p/<slug>/review/ belongs to the review queue."""

from django.urls import path

from annotation.workspace.data import views as data_views
from annotation.workspace.export import views as export_views
from annotation.workspace.members import views as members_views
from annotation.workspace.policies import views as policies_views
from annotation.workspace.projects import views as projects_views

urlpatterns = [
    path("projects/new/", projects_views.project_new, name="project-new"),
    path("projects/preview/", projects_views.markdown_preview, name="markdown-preview"),
    path("p/<slug:slug>/settings/", projects_views.project_settings, name="project-settings"),
    path("p/<slug:slug>/members/", members_views.members, name="project-members"),
    path(
        "p/<slug:slug>/members/<str:username>/remove/",
        members_views.member_remove,
        name="project-member-remove",
    ),
    path("p/<slug:slug>/data/", data_views.data, name="project-data"),
    path(
        "p/<slug:slug>/data/comparisons/<int:comparison_id>/",
        data_views.comparison,
        name="project-comparison",
    ),
    path("p/<slug:slug>/export/", export_views.export, name="project-export"),
    path("p/<slug:slug>/export/download/", export_views.export_download, name="project-export-download"),
    path("p/<slug:slug>/models/", policies_views.models_page, name="project-models"),
    path("p/<slug:slug>/models/jobs/", policies_views.jobs_panel, name="project-models-jobs"),
    path("p/<slug:slug>/models/fill/", policies_views.fill_queue, name="project-fill-queue"),
]
