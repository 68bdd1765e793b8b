from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from modelspec_site import health
from modelspec_site.api import IsStaffMember
from revisions import views as revisions_views

# The admin's own login would bypass two-factor sign-in and login throttling: send it through
# allauth instead.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Model Spec tracker administration"

urlpatterns = [
    # The API first: Django tries patterns in order, and a submission is the hottest write.
    path("api/v1/", include("modelspec_site.api_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg", permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The public schema documents what anyone may call; staff get the whole API.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            custom_settings={"PREPROCESSING_HOOKS": ["modelspec_site.api.public_operations_only"]}
        ),
        name="api-schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "api/schema/staff/",
        SpectacularAPIView.as_view(permission_classes=[IsStaffMember]),
        name="api-schema-staff",
    ),
    path("", revisions_views.home, name="home"),
    path("feedback/", include("feedback.urls")),
    path("staff/", include("feedback.staff_urls")),
    path("staff/", include("revisions.editor_urls")),
    path("staff/audit/", include("modelspec_site.audit.urls")),
    path("audit/", include("modelspec_site.audit.public_urls")),
    path("notifications/", include("feedback.notify_urls")),
    path("transparency/", include("feedback.transparency_urls")),
    path("data/", include("feedback.data_urls")),
    path("", include("feedback.disposition_urls")),
    path("", include("revisions.urls")),
]

handler400 = "modelspec_site.errors.bad_request"
handler403 = "modelspec_site.errors.permission_denied"
handler404 = "modelspec_site.errors.page_not_found"
handler500 = "modelspec_site.errors.server_error"
