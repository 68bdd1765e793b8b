"""`publish_version --spec SLUG --label LABEL`: publish a draft from the command line, through the
same job and service as the editor's button, synchronously, printing the progress."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from revisions.models import PublishJob, Version
from revisions.publishing import PublishError, publish_run, publish_start


class Command(BaseCommand):
    help = "Publish a draft version: lineage, re-anchoring, links, notifications; the previous one is superseded."

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
        if version.state != Version.State.DRAFT:
            raise CommandError(f"version {version.label} is already {version.state}")
        try:
            job = publish_start(acting_user=actor, version=version, enqueue=False)
        except (PublishError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from None
        shown: dict[str, int] = {}

        def echo(step: str, done: int, total: int) -> None:
            # One line per step start and end, and about every tenth of a long step.
            last = shown.get(step)
            if last is None or done >= total or done - last >= max(total // 10, 1):
                shown[step] = done
                self.stdout.write(f"  {step}: {done} of {total}")

        state = publish_run(job_id=job.pk, echo=echo)
        job = PublishJob.objects.get(pk=job.pk)
        if state == "busy":
            raise CommandError(f"version {version.label} is being published by another process")
        if job.state != PublishJob.State.DONE:
            raise CommandError(f"publishing {version.label} failed: {job.error or job.state}")
        lineage = job.result.get("lineage") or {}
        summary = ", ".join(f"{kind} {count}" for kind, count in lineage.items())
        self.stdout.write(
            f"published {version.spec.slug} {version.label}"
            + (f" (lineage: {summary})" if summary else "")
        )
