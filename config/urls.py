from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotation import urls as annotation_urls

# The docs page under the site's Content-Security-Policy: the split view serves Swagger UI's start-up code
# as a script of its own (?script=) instead of inline, api_docs.html moves its inline <style> to a file, and
# only img-src widens, to data: for the icons that swagger-ui.css embeds. People who are not signed in are
# sent to the login page; the schema itself answers them 401 (SERVE_PERMISSIONS).
api_docs = csp_update({"img-src": ["data:"]})(
    login_required(SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"))
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(annotation_urls.api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(annotation_urls.urlpatterns)),
]

handler404 = "annotation.rest.api_not_found"
handler500 = "annotation.availability.server_error"
