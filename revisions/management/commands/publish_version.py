from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from revisions.models import Version
from revisions.services import VersionStateError, version_publish


class Command(BaseCommand):
    help = "Publish a draft version: it becomes current and supersedes the previous one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--spec", required=True)
        parser.add_argument("--label", required=True)
        parser.add_argument("--actor", help="username recorded in the ledger (default: system)")

    def handle(self, *args, **options) -> None:
        try:
            version = Version.objects.select_related("spec").get(
                spec__slug=options["spec"], label=options["label"]
            )
        except Version.DoesNotExist:
            raise CommandError(f"no version {options['label']} of spec {options['spec']}") from None
        actor = None
        if options["actor"]:
            actor = get_user_model().objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"no user named {options['actor']!r}")
        try:
            version = version_publish(version=version, acting_user=actor)
        except VersionStateError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"published {version.spec.slug} {version.label}")
