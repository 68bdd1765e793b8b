"""The URL makers of bulk messages give exactly what `reverse` gives."""

from django.urls import reverse

from feedback.messaging import (
    answer_link,
    answer_token,
    item_link,
    site_url,
    unsubscribe_link,
    unsubscribe_token,
)


def test_links_equal_reverse_for_real_values():
    signed = unsubscribe_token(address="ada@example.org", scope="item:7")
    assert unsubscribe_link(signed=signed) == site_url(
        reverse("notifications:unsubscribe", kwargs={"signed": signed})
    )
    assert item_link(tracking_number="MS-2026-00042") == site_url(
        reverse("feedback:item", kwargs={"tracking_number": "MS-2026-00042"})
    )
    answer = answer_token(item_id=7, version_id=3)
    assert answer_link(tracking_number="MS-2026-00042", signed=answer) == site_url(
        reverse(
            "feedback:carried-signed",
            kwargs={"tracking_number": "MS-2026-00042", "signed": answer},
        )
    )


def test_values_reverse_would_escape_take_the_slow_path():
    odd = "a b%c"
    assert unsubscribe_link(signed=odd) == site_url(
        reverse("notifications:unsubscribe", kwargs={"signed": odd})
    )
    assert "a%20b%25c" in unsubscribe_link(signed=odd)
