"""Routes owned by one part of the staff/notification pages; see feedback/staff_urls.py."""

urlpatterns: list = []
