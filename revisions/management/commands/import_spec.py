from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from revisions.importing import SpecSyntaxError
from revisions.services import VersionStateError, spec_ensure, version_import


class Command(BaseCommand):
    help = "Parse a spec version from Markdown and store it (idempotent for the same content)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Markdown source of the version")
        parser.add_argument("--spec", required=True, help="spec slug, e.g. model-spec")
        parser.add_argument("--label", required=True, help="version label, e.g. 2025-09-12")
        parser.add_argument("--publish", action="store_true", help="publish it after import")
        parser.add_argument("--title", help="title for a new spec")
        parser.add_argument("--actor", help="username recorded in the ledger (default: system)")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        actor = None
        if options["actor"]:
            try:
                actor = get_user_model().objects.get(username=options["actor"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"no user named {options['actor']!r}") from None
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read: {exc.strerror}") from None
        try:
            spec = spec_ensure(slug=options["spec"], title=options["title"], acting_user=actor)
            result = version_import(
                spec=spec,
                label=options["label"],
                data=data,
                acting_user=actor,
                publish=options["publish"],
            )
        except SpecSyntaxError as exc:
            where = f"{path}:{exc.line}" if exc.line else str(path)
            raise CommandError(f"{where}: {exc.message}") from None
        except (VersionStateError, ValidationError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {path}: {warning}")
        version = result.version
        if result.created:
            what = "imported"
        elif result.changed:
            what = "replaced the draft text of"
        else:
            what = "unchanged:"
        self.stdout.write(
            f"{what} {version.spec.slug} {version.label}: {version.clause_count} clauses, "
            f"{version.example_count} examples, state {version.state}"
            + (" (published now)" if result.published else "")
        )
