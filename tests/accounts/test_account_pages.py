"""allauth's pages render inside the site's layout and stay usable with a keyboard and a
screen reader: landmarks, one heading, a label for every field, errors tied to their field."""

from html.parser import HTMLParser

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse


class _Page(HTMLParser):
    """Collects tags with their attributes, and the text inside elements that have an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[str | None] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag in {"input", "img", "meta", "link", "br", "hr"}:
            return
        self._open.append(attributes.get("id"))
        self._in_title = tag == "title"
        if attributes.get("id"):
            self.text_by_id[attributes["id"]] = ""

    def handle_endtag(self, tag):
        if tag in {"input", "img", "meta", "link", "br", "hr"}:
            return
        if self._open:
            self._open.pop()
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        for element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    return page


def assert_in_site_layout(page: _Page) -> None:
    assert page.all("main") == [{"id": "main", "tabindex": "-1"}]
    assert any(a.get("class") == "skip-link" and a.get("href") == "#main" for a in page.all("a"))
    assert any(h.get("class") == "site-header" for h in page.all("header"))
    assert any(f.get("class") == "site-footer" for f in page.all("footer"))
    assert any(link.get("href", "").endswith("/site.css") for link in page.all("link"))
    assert len(page.all("h1")) == 1
    assert page.title.strip().endswith("Model Spec tracker")


def assert_every_field_is_labelled(page: _Page) -> None:
    labelled = {label["for"] for label in page.all("label") if label.get("for")}
    for tag in ("input", "select", "textarea"):
        for field in page.all(tag):
            if field.get("type") in {"hidden", "submit"}:
                continue
            assert (
                field.get("id") in labelled
                or field.get("aria-label")
                or field.get("aria-labelledby")
            ), f"unlabelled <{tag} name={field.get('name')!r}>"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    [
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_email_verification_sent",
    ],
)
def test_entrance_pages_use_the_site_layout(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    page = parse(response)
    assert_in_site_layout(page)
    assert_every_field_is_labelled(page)
    assert "base.html" in [t.name for t in response.templates]


@pytest.mark.django_db
def test_a_field_error_is_announced_with_its_field(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.org",
            "username": "newcomer",
            "password1": "a long and unusual password 9",
            "password2": "a different password entirely",
        },
    )
    assert response.status_code == 200
    page = parse(response)
    (field,) = [f for f in page.all("input") if f.get("name") == "password2"]
    assert field.get("aria-invalid") == "true"
    described_by = field.get("aria-describedby", "").split()
    messages = " ".join(page.text_by_id.get(i, "") for i in described_by)
    assert "same password" in messages


@pytest.mark.django_db
def test_a_failed_sign_in_says_so_in_text(client):
    response = client.post(reverse("account_login"), {"login": "nobody", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert_every_field_is_labelled(parse(response))


@pytest.mark.django_db
def test_account_management_pages_have_an_account_navigation(client):
    user = get_user_model().objects.create_user(
        "carol", email="carol@example.org", password="a long and unusual password 9"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)

    response = client.get(reverse("account_email"))
    assert response.status_code == 200
    page = parse(response)
    assert_in_site_layout(page)
    assert_every_field_is_labelled(page)
    (subnav,) = [n for n in page.all("nav") if n.get("class") == "subnav"]
    assert subnav["aria-label"] == "Your account"
    current = [a for a in page.all("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == [reverse("account_email")]

    page = parse(client.get(reverse("mfa_index")))
    assert_in_site_layout(page)
    current = [a for a in page.all("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == [reverse("mfa_index")]


@pytest.mark.django_db
def test_two_factor_code_pages_use_the_site_layout(client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = get_user_model().objects.create_user(
        "rita", email="rita@example.org", password="a long and unusual password 9", is_staff=True
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    TOTP.activate(user, generate_totp_secret())

    # The code asked at sign-in.
    response = client.post(
        reverse("account_login"), {"login": "rita", "password": "a long and unusual password 9"}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    page = parse(client.get(reverse("mfa_authenticate")))
    assert_in_site_layout(page)
    assert_every_field_is_labelled(page)
    assert [f.get("autocomplete") for f in page.all("input") if f.get("name") == "code"] == [
        "one-time-code"
    ]

    # The code asked again of a session that never gave one.
    client.force_login(user)
    page = parse(client.get(reverse("mfa_reauthenticate")))
    assert_in_site_layout(page)
    assert_every_field_is_labelled(page)
