"""`make run` calls this after migrating: load the bundled spec versions, create the staff role
groups and, in development, a staff account. Safe to run on every start: what is there already
is left alone."""

import re
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from modelspec_site.accounts.roles import roles_ensure
from revisions.services import spec_ensure, version_import

LABEL_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.md$")


class Command(BaseCommand):
    help = "Load the bundled Model Spec versions and create the staff roles (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dev-staff",
            metavar="PASSWORD_FILE",
            help="development only: ensure a superuser 'admin' whose password is kept in this file",
        )

    def handle(self, *args, **options) -> None:
        groups = roles_ensure()
        self.stdout.write(f"staff roles: {', '.join(g.name for g in groups)}")
        spec = spec_ensure(slug="model-spec", title="OpenAI Model Spec")
        data_dir = Path(settings.MODELSPEC_DATA_DIR)
        files = sorted(p for p in data_dir.iterdir() if LABEL_FILE.match(p.name))
        for path in files:
            label = LABEL_FILE.match(path.name).group(1)
            result = version_import(spec=spec, label=label, data=path.read_bytes(), publish=True)
            state = "loaded" if result.changed else "already loaded"
            self.stdout.write(f"{spec.slug} {label}: {state} ({result.version.state})")
        if options["dev_staff"]:
            self._dev_staff(Path(options["dev_staff"]), groups)

    def _dev_staff(self, password_file: Path, groups) -> None:
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(username="admin").first()
            if user is None or not password_file.exists():
                password = secrets.token_urlsafe(12)
                if user is None:
                    user = user_model.objects.create_superuser(
                        "admin", email="admin@localhost", password=password
                    )
                else:
                    user.set_password(password)
                    user.save(update_fields=["password"])
                user.groups.set(groups)
                from allauth.account.models import EmailAddress

                EmailAddress.objects.update_or_create(
                    user=user,
                    email="admin@localhost",
                    defaults={"verified": True, "primary": True},
                )
                password_file.parent.mkdir(parents=True, exist_ok=True)
                password_file.write_text(password + "\n")
                password_file.chmod(0o600)
        password = password_file.read_text().strip()
        self.stdout.write(
            "\nStaff sign-in (development): /accounts/login/ on the site\n"
            f"  username: admin   password: {password}\n"
            "  Staff must use two-factor sign-in: at first sign-in you are asked to add an\n"
            "  authenticator app (TOTP); keep the recovery codes it shows.\n"
        )
