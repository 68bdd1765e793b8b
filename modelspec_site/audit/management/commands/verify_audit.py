"""`manage.py verify_audit`: recompute the ledger's hash chain; exit 1 at the first bad event."""

from django.core.management.base import BaseCommand

from modelspec_site.audit.verify import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit ledger's hash chain. Prints 'OK: <count> events, head <hash>' and "
        "exits 0, or prints 'FAILED at seq <n>: <reason>' to stderr and exits 1."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="Rows fetched per round trip."
        )

    def handle(self, *args, **options) -> None:
        result = audit_verify(chunk_size=options["chunk_size"])
        if result.ok:
            self.stdout.write(f"OK: {result.count} events, head {result.head_hash}")
            return
        self.stderr.write(f"FAILED at seq {result.first_bad_seq}: {result.reason}")
        # Not CommandError: that would prefix the line; cron and CI only need the exit status.
        raise SystemExit(1)
