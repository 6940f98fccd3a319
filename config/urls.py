from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotation import urls as annotation_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(annotation_urls.api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(annotation_urls.urlpatterns)),
]

handler404 = "annotation.rest.api_not_found"
handler500 = "annotation.availability.server_error"
