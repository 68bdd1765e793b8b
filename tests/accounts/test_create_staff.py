"""`manage.py create_staff`: operators make staff accounts with it, so it must leave an account
that can sign in (verified address), holds exactly the roles asked for, reaches the admin, and
is safe to run again."""

import io

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from modelspec_site.accounts.roles import is_staff_member, staff_roles
from modelspec_site.audit.models import Event

PASSWORD = "a long and unusual staff password 7"


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return str(path)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


def account(username: str = "tina"):
    return get_user_model().objects.get(username=username)


@pytest.mark.django_db
def test_creates_a_staff_account_that_can_sign_in(password_file):
    output = run(
        "tina",
        "--email",
        "Tina@Example.org",
        "--role",
        "triager",
        "--role",
        "reviewer",
        "--password-file",
        password_file,
    )
    user = account()
    assert user.is_staff and user.is_active and not user.is_superuser
    assert user.email == "Tina@Example.org"
    assert staff_roles(user) == {"triager", "reviewer"}
    assert is_staff_member(user)
    assert authenticate(username="tina", password=PASSWORD) == user
    (address,) = EmailAddress.objects.filter(user=user)
    assert (address.email, address.verified, address.primary) == ("Tina@Example.org", True, True)
    # Every role group exists afterwards, even those not given.
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "triager",
        "reviewer",
        "editor",
        "moderator",
        "auditor",
    }
    assert "Created staff account tina." in output
    assert reverse("account_login") in output
    assert "TOTP" in output
    assert PASSWORD not in output


@pytest.mark.django_db
def test_running_again_with_the_same_arguments_changes_nothing(password_file):
    args = ["tina", "--email", "tina@example.org", "--role", "editor", "--password-file"]
    run(*args, password_file)
    before = account()
    output = run("tina", "--email", "tina@example.org", "--role", "editor")
    after = account()
    assert "already up to date" in output
    assert after.pk == before.pk
    assert after.password == before.password
    assert staff_roles(after) == {"editor"}
    assert EmailAddress.objects.filter(user=after).count() == 1
    assert get_user_model().objects.count() == 1
    assert after.groups.count() == 1


@pytest.mark.django_db
def test_the_account_ends_with_exactly_the_roles_given(password_file):
    run(
        "tina", "--email", "tina@example.org", "--role", "triager", "--password-file", password_file
    )
    user = account()
    other = Group.objects.create(name="newsletter")
    user.groups.add(other)

    output = run("tina", "--email", "tina@example.org", "--role", "reviewer", "--role", "auditor")
    user = account()
    assert staff_roles(user) == {"reviewer", "auditor"}
    assert other in user.groups.all(), "groups that are not roles are left alone"
    assert "Role added: auditor" in output
    assert "Role removed: triager" in output
    assert authenticate(username="tina", password=PASSWORD) == user, "password kept"


@pytest.mark.django_db
def test_every_change_and_only_a_change_leaves_an_internal_ledger_event(password_file):
    run(
        "tina", "--email", "tina@example.org", "--role", "triager", "--password-file", password_file
    )
    user = account()
    (created,) = Event.objects.filter(action__startswith="account.")
    assert created.action == "account.staff_created"
    assert created.visibility == "internal"
    assert created.actor_label == "system"
    assert created.subjects == [{"type": "auth.user", "id": str(user.pk), "label": "tina"}]
    assert created.data["roles"] == ["triager"]
    assert created.data["roles_added"] == ["triager"]
    assert created.data["password_set"] is True
    assert PASSWORD not in str(created.data)
    assert "tina@example.org" not in str(created.data)

    run("tina", "--email", "tina@example.org", "--role", "triager")
    assert Event.objects.filter(action__startswith="account.").count() == 1, (
        "nothing changed, nothing recorded"
    )

    run("tina", "--email", "tina@example.org", "--role", "reviewer", "--superuser")
    updated = Event.objects.order_by("-seq").first()
    assert updated.action == "account.staff_updated"
    assert updated.data["roles_added"] == ["reviewer"]
    assert updated.data["roles_removed"] == ["triager"]
    assert updated.data["flags_changed"] == {"is_superuser": [False, True]}
    assert updated.data["password_set"] is False
    call_command("verify_audit", stdout=io.StringIO())


@pytest.mark.django_db
def test_changing_the_address_makes_the_new_one_primary_and_verified(password_file):
    run("tina", "--email", "old@example.org", "--role", "triager", "--password-file", password_file)
    run("tina", "--email", "new@example.org", "--role", "triager")
    user = account()
    assert user.email == "new@example.org"
    primary = EmailAddress.objects.get(user=user, primary=True)
    assert (primary.email, primary.verified) == ("new@example.org", True)
    assert EmailAddress.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_superuser_flag(password_file):
    run("root", "--email", "root@example.org", "--superuser", "--password-file", password_file)
    user = account("root")
    assert user.is_superuser and user.is_staff
    assert staff_roles(user) == {"triager", "reviewer", "editor", "moderator", "auditor"}


@pytest.mark.django_db
def test_without_input_a_password_is_generated_shown_once_and_works():
    output = run("tina", "--email", "tina@example.org", "--role", "triager", "--no-input")
    (line,) = [line for line in output.splitlines() if line.startswith("Generated password")]
    password = line.rsplit(": ", 1)[1]
    assert len(password) >= 20
    assert authenticate(username="tina", password=password) == account()

    # Run again: the password is kept and not shown again.
    output = run("tina", "--email", "tina@example.org", "--role", "triager", "--no-input")
    assert "Generated password" not in output
    assert authenticate(username="tina", password=password) == account()

    output = run(
        "tina", "--email", "tina@example.org", "--role", "triager", "--no-input", "--reset-password"
    )
    (line,) = [line for line in output.splitlines() if line.startswith("Generated password")]
    assert authenticate(username="tina", password=line.rsplit(": ", 1)[1]) == account()
    assert authenticate(username="tina", password=password) is None


@pytest.mark.django_db
def test_unknown_role_is_refused():
    with pytest.raises(CommandError, match="invalid choice"):
        run("tina", "--email", "tina@example.org", "--role", "overlord", "--no-input")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_a_role_or_superuser_is_required():
    with pytest.raises(CommandError, match="at least one role"):
        run("tina", "--email", "tina@example.org", "--no-input")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_weak_password_is_refused_and_nothing_is_written(tmp_path):
    weak = tmp_path / "weak"
    weak.write_text("password\n")
    with pytest.raises(CommandError, match="too common"):
        run(
            "tina", "--email", "tina@example.org", "--role", "triager", "--password-file", str(weak)
        )
    assert not get_user_model().objects.exists()
    assert not EmailAddress.objects.exists()
    assert not Event.objects.filter(action__startswith="account.").exists()


@pytest.mark.django_db
def test_an_address_of_another_account_is_refused(password_file):
    other = get_user_model().objects.create_user("carol", email="carol@example.org")
    EmailAddress.objects.create(user=other, email="carol@example.org", verified=True, primary=True)
    with pytest.raises(CommandError, match="belongs to another account"):
        run("tina", "--email", "CAROL@example.org", "--role", "triager", "--no-input")
    assert not get_user_model().objects.filter(username="tina").exists()


@pytest.mark.django_db
def test_an_invalid_address_is_refused():
    with pytest.raises(CommandError):
        run("tina", "--email", "not-an-address", "--role", "triager", "--no-input")
    assert not get_user_model().objects.filter(username="tina").exists()


@pytest.mark.django_db
def test_empty_password_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(CommandError, match="empty"):
        run("tina", "--email", "t@example.org", "--role", "triager", "--password-file", str(empty))


def test_help_renders():
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("create_staff", "--help", stdout=out)
    assert exit_info.value.code == 0
