from django.contrib.auth import views as auth_views
from django.urls import path

from annotation import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("p/<slug:slug>/", views.dashboard, name="dashboard"),
    path("p/<slug:slug>/annotate/", views.annotate, name="annotate"),
    path("p/<slug:slug>/rounds/panel/", views.rounds_panel, name="rounds-panel"),
    path("p/<slug:slug>/rounds/launch/", views.round_launch_form, name="round-launch"),
    path("p/<slug:slug>/rounds/<int:round_id>/cancel/", views.round_cancel_form, name="round-cancel"),
]
