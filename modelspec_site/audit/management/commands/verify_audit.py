"""`manage.py verify_audit`: recompute the ledger's hash chain; exit 1 at the first bad event.

verify_audit [--recompute | --reference]      the live database (stored canonical text by
                                              default; see modelspec_site.audit.verify)
verify_audit --checkpoint HASH --count N      ... and event N still has HASH (only grew)
verify_audit --export FILE --checkpoint HASH [--count N]
                                              an export file, offline (no database read),
                                              by the same code as scripts/verify_ledger_export.py
"""

import json

from django.core.management.base import BaseCommand, CommandError

from modelspec_site.audit import chain
from modelspec_site.audit.verify import audit_verify, audit_verify_checkpoint


class Command(BaseCommand):
    help = (
        "Recompute the audit ledger's hash chain. Prints 'OK: <count> events, head <hash>' and "
        "exits 0, or prints 'FAILED at seq <n>: <reason>' to stderr and exits 1. With "
        "--checkpoint (and --count), also checks the chain against a published checkpoint; "
        "with --export, checks an export file instead of the database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=10_000, help="Rows fetched per round trip."
        )
        parser.add_argument("--checkpoint", metavar="HASH", help="A checkpoint's head hash.")
        parser.add_argument(
            "--count",
            type=int,
            metavar="N",
            help="The checkpoint's event count: event N must have that hash.",
        )
        parser.add_argument(
            "--checkpoint-file", metavar="FILE", help="A checkpoint as published (JSON)."
        )
        parser.add_argument(
            "--export", metavar="FILE", help="Verify this export file (JSON Lines or CSV)."
        )
        parser.add_argument(
            "--public-key",
            metavar="FILE",
            help="With --export and --checkpoint-file: check the checkpoint's signature.",
        )
        parser.add_argument(
            "--recompute",
            action="store_true",
            help=(
                "Re-encode every event from its columns instead of hashing the stored canonical "
                "text, trusting no database constraint (slower)."
            ),
        )
        parser.add_argument(
            "--reference",
            action="store_true",
            help="Re-encode with the standard-library reference encoder only (slowest).",
        )

    def handle(self, *args, **options) -> None:
        head_hash, count = options["checkpoint"], options["count"]
        if options["export"]:
            argv = [options["export"]]
            if options["checkpoint_file"]:
                argv += ["--checkpoint-file", options["checkpoint_file"]]
            elif head_hash:
                argv += ["--checkpoint", head_hash]
            if count is not None and not options["checkpoint_file"]:
                argv += ["--count", str(count)]
            if options["public_key"]:
                argv += ["--public-key", options["public_key"]]
            status = chain.main(argv)
            if status:
                raise SystemExit(status)
            return
        if options["checkpoint_file"]:
            try:
                with open(options["checkpoint_file"], encoding="utf-8") as handle:
                    published = json.load(handle)
                head_hash, count = str(published["head_hash"]), int(published["count"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CommandError(f"cannot read the checkpoint file: {exc}") from exc
        if count is not None and head_hash is None:
            raise CommandError("--count needs --checkpoint HASH")
        if head_hash is not None and not chain.HASH_RE.match(head_hash):
            raise CommandError("a checkpoint hash is 64 lowercase hex digits")
        if head_hash is None:
            result = audit_verify(
                chunk_size=options["chunk_size"],
                reference=options["reference"],
                recompute=options["recompute"],
            )
        else:
            result = audit_verify_checkpoint(
                head_hash=head_hash,
                count=count,
                chunk_size=options["chunk_size"],
                recompute=options["recompute"] or options["reference"],
            )
        if result.ok:
            line = f"OK: {result.count} events, head {result.head_hash}"
            if head_hash is not None:
                line += f"; checkpoint matches event {count if count is not None else 'head'}"
            self.stdout.write(line)
            return
        where = "" if result.first_bad_seq is None else f" at seq {result.first_bad_seq}"
        self.stderr.write(f"FAILED{where}: {result.reason}")
        # Not CommandError: that would prefix the line; cron and CI only need the exit status.
        raise SystemExit(1)
