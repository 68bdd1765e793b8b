"""/audit/: public checkpoints, their feed and key, the public export and the offline verifier
(namespace "audit_public")."""

from django.urls import path

from modelspec_site.audit import feeds, views

app_name = "audit_public"
urlpatterns = [
    path("checkpoints/", views.checkpoint_list, name="checkpoints"),
    path("checkpoints/feed/", feeds.CheckpointFeed(), name="checkpoint-feed"),
    path("checkpoints/key/", views.public_key, name="key"),
    path("checkpoints/<str:day>.json", views.checkpoint_json, name="checkpoint-json"),
    path("export/public.<str:fmt>", views.public_export, name="export"),
    path("verify_ledger_export.py", views.verifier_script, name="verifier"),
]
