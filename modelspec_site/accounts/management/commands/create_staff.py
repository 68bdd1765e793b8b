"""`manage.py create_staff USERNAME --email E --role R [--role R …] [--superuser]`.

Creates a staff account, or brings an existing one in line with the arguments (running it twice
changes nothing). The password comes from --password-file (a file, or "-" for standard input),
from a prompt when run interactively, or is generated and printed once."""

import getpass
import secrets
import sys

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils.translation import gettext as _

from modelspec_site.accounts.services import staff_member_ensure


class Command(BaseCommand):
    @property
    def help(self) -> str:  # translated when asked, in the active language
        return _("Create or update a staff account with roles and a verified e-mail address.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True, help=_("Verified primary e-mail address."))
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=settings.STAFF_ROLES,
            help=_("A staff role; repeat for several. The account ends with exactly these."),
        )
        parser.add_argument("--superuser", action="store_true", help=_("Also a superuser."))
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password-file",
            help=_('Read the password from this file ("-" for standard input).'),
        )
        password.add_argument(
            "--reset-password",
            action="store_true",
            help=_("Set a new password (prompted, or generated) on an existing account."),
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help=_("Never prompt: generate a password when one is needed."),
        )

    def handle(self, *args, **options) -> None:
        from django.contrib.auth import get_user_model

        username: str = options["username"]
        exists = get_user_model().objects.filter(username=username).exists()
        password, generated = self._password(options, needed=not exists)
        try:
            result = staff_member_ensure(
                acting_user=None,
                username=username,
                email=options["email"],
                roles=options["role"],
                superuser=options["superuser"],
                password=password,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        if result.created:
            self.stdout.write(self.style.SUCCESS(_("Created staff account %s.") % username))
        elif result.changes:
            self.stdout.write(self.style.SUCCESS(_("Updated staff account %s:") % username))
            for change in result.changes:
                self.stdout.write(f"  - {change}")
        else:
            self.stdout.write(_("Staff account %s is already up to date.") % username)
        roles = sorted(options["role"]) or [_("(none)")]
        self.stdout.write(_("Roles: %s") % ", ".join(roles))
        if options["superuser"]:
            self.stdout.write(_("Superuser: yes"))
        if generated:
            self.stdout.write(_("Generated password (shown once, store it now): %s") % password)
        self.stdout.write(
            _(
                "Sign in at %(login)s with the username or e-mail address. At the first sign-in "
                "you must enrol an authenticator app (TOTP) before any staff page opens; keep "
                "the recovery codes it shows. Staff pages, the admin at %(admin)s included, "
                "ask for a code from that app at every sign-in."
            )
            % {"login": reverse("account_login"), "admin": reverse("admin:index")}
        )

    def _password(self, options: dict, *, needed: bool) -> tuple[str | None, bool]:
        """(password, generated?) — None keeps an existing account's password."""
        path = options["password_file"]
        if path:
            try:
                if path == "-":
                    text = sys.stdin.read()
                else:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
            except OSError as exc:
                raise CommandError(
                    _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
                ) from exc
            password = text.splitlines()[0] if text.strip() else ""
            if not password:
                raise CommandError(_("The password file is empty."))
            return password, False
        if not (needed or options["reset_password"]):
            return None, False
        if options["interactive"] and sys.stdin.isatty():
            first = getpass.getpass(_("Password: "))
            if first != getpass.getpass(_("Password (again): ")):
                raise CommandError(_("The passwords do not match."))
            if not first:
                raise CommandError(_("The password is empty."))
            return first, False
        return secrets.token_urlsafe(18), True
