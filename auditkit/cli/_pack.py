"""``auditkit report``, ``auditkit export``, ``auditkit verify`` and ``auditkit demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditkit.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    JsonOpt,
    WorkspaceOpt,
    print_json,
    print_table,
    progress,
    result_style,
    say,
    stdout_console,
    workspace,
)
from auditkit.cli._evaluate import counts_line
from auditkit.clock import claimed_now
from auditkit.errors import ConfigError, KeyMaterialError
from auditkit.evaluate.catalog import load_catalog
from auditkit.pack.build import BUILD_STEPS, PackResult


def _pack_summary(pack: PackResult) -> dict[str, object]:
    return {
        "pack": str(pack.path),
        "zip": str(pack.zip_path) if pack.zip_path else None,
        "run_id": pack.run_id,
        "pack_id": pack.pack_id,
        "files": pack.files,
        "manifest_key_fingerprint_sha256": pack.key_fingerprint,
        "results": pack.counts,
        "workbook_truncated_cells": pack.workbook_truncated_cells,
    }


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""

    @app.command("report")
    def report(
        run: Annotated[int, typer.Option("--run", help="Run id (see 'auditkit runs list').")],
        out: Annotated[
            Path,
            typer.Option(
                "--out", help="Folder to write the pack into (with --format oscal: a .json file)."
            ),
        ],
        output_format: Annotated[
            str,
            typer.Option(
                "--format",
                help="pack (the signed evidence pack) or oscal (OSCAL 1.1 assessment "
                "results JSON only).",
            ),
        ] = "pack",
        make_zip: Annotated[
            bool, typer.Option("--zip", help="Also write a deterministic zip.")
        ] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Replace an existing pack folder.")
        ] = False,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Write the signed evidence pack for a run: report.pdf, workbook.xlsx, evidence/, manifest.

        Example: auditkit report --run 1 --out ./q3-pack --zip
        """
        from auditkit.pack.build import build_pack
        from auditkit.sign.keys import load_signing_material
        from auditkit.store import open_store

        ws = workspace(workspace_dir)
        if output_format not in ("pack", "oscal"):
            raise ConfigError("--format must be pack or oscal")
        ws.check_output(out)
        if make_zip:
            ws.check_output(out.with_suffix(".zip"))
        if output_format == "oscal":
            from auditkit.report.data import load_run
            from auditkit.report.oscal import ITEMS_PER_CHECK, write_oscal
            from auditkit.report.rows import exception_items

            with open_store(ws, write=False) as con:
                loaded = load_run(con, run, load_catalog(ws.config.controls_dirs))
                items = exception_items(
                    con, loaded.run_id, list(loaded.checks.values()), ITEMS_PER_CHECK
                )
            path = write_oscal(loaded, out, claimed_now(), items)
            if json_out:
                print_json({"oscal": str(path), "run_id": run})
            else:
                say(f"OSCAL assessment results written to {path}")
            return
        try:
            material = load_signing_material(ws.keys_dir)
        except KeyMaterialError as exc:
            raise KeyMaterialError(
                f"{exc.message}; create keys with 'auditkit keygen'",
                path=exc.path,
                location=exc.location,
            ) from None
        catalog = load_catalog(ws.config.controls_dirs)
        with (
            open_store(ws, write=False) as con,
            progress(not json_out, "building the pack", len(BUILD_STEPS)) as step,
        ):
            pack = build_pack(
                con,
                catalog,
                run,
                out,
                material,
                claimed_time=claimed_now(),
                make_zip=make_zip,
                force=force,
                on_step=step,
            )
        if json_out:
            print_json(_pack_summary(pack))
        else:
            say(
                f"pack written to {pack.path} ({pack.files} files)"
                + (f"; zip {pack.zip_path}" if pack.zip_path else "")
            )
            say(f"manifest key fingerprint (sha256): {pack.key_fingerprint}")

    @app.command("verify")
    def verify(
        pack: Annotated[
            Path,
            typer.Argument(help="Pack folder or zip, or a SIEM export file (or its .dsse.json)."),
        ],
        trust: Annotated[
            Path | None,
            typer.Option(
                "--trust", help="Pinned Ed25519 public key PEM or root CA certificate PEM."
            ),
        ] = None,
        expect_pack_id: Annotated[
            str | None,
            typer.Option("--expect-pack-id", help="Fail unless the pack carries this pack id."),
        ] = None,
        require_trust: Annotated[
            bool,
            typer.Option(
                "--require-trust",
                help="Fail (exit 1) unless the signer is pinned with --trust; for scripts.",
            ),
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Verify a pack offline: signatures, file set, every hash, the PDF signature.

        Without --trust the verdict is "internally consistent, signer not pinned": the
        keys came from the pack itself. A SIEM export (auditkit export) is checked against
        its FILE.dsse.json envelope and the manifest public key given with --trust.
        Exit 0 when every check passes, 1 when anything was tampered with (or
        --require-trust without --trust), 2 when it cannot run.
        Example: auditkit verify ./q3-pack --trust manifest-signing-key.pub.pem
        """
        from auditkit.pack.export import is_export, verify_export
        from auditkit.pack.verify import VERDICT_UNPINNED, VERDICT_VERIFIED, verify_pack

        if is_export(pack):
            if expect_pack_id is not None:
                raise ConfigError("--expect-pack-id applies to packs, not to SIEM exports")
            result = verify_export(pack, trust=trust)
        else:
            result = verify_pack(
                pack, trust=trust, expect_pack_id=expect_pack_id, require_trust=require_trust
            )
        if json_out:
            print_json(result.to_json())
        else:
            console = stdout_console()
            from rich.text import Text

            from auditkit.safe_output import terminal_text

            for check in result.checks:
                mark = Text("ok  ", style="green") if check.ok else Text("FAIL", style="bold red")
                console.print(mark + Text(f" {check.name}: {terminal_text(check.detail)}"))
            console.print(Text(terminal_text(result.trust_summary)))
            if result.claimed_signing_time:
                console.print(
                    Text(
                        f"signing time (claimed by the signer): "
                        f"{terminal_text(result.claimed_signing_time)}"
                    )
                )
            if result.verdict == VERDICT_VERIFIED and result.ok:
                verdict, style = "VERIFIED", "bold green"
            elif result.verdict == VERDICT_UNPINNED:
                verdict, style = "INTERNALLY CONSISTENT, SIGNER NOT PINNED", "bold yellow"
                if not result.ok:
                    verdict += " (refused: --require-trust)"
                    style = "bold red"
            else:
                verdict, style = "VERIFICATION FAILED", "bold red"
            console.print(Text(verdict, style=style))
        raise typer.Exit(EXIT_OK if result.ok else EXIT_CHECK_FAILED)

    @app.command("export")
    def export(
        run: Annotated[int, typer.Option("--run", help="Run id (see 'auditkit runs list').")],
        output_format: Annotated[
            str,
            typer.Option(
                "--format",
                help="ocsf (OCSF 1.5 Compliance Findings), ecs (Elastic Common Schema) or "
                "splunk (HEC event JSON).",
            ),
        ],
        out: Annotated[
            str,
            typer.Option(
                "--out",
                help="File to write (gzip when it ends .gz), signed beside it as FILE.dsse.json; "
                "- for standard output (unsigned).",
            ),
        ],
        bulk_index: Annotated[
            str | None,
            typer.Option(
                "--bulk-index",
                help="ecs only: precede each document with an Elasticsearch _bulk 'create' "
                "action for this index or data stream.",
            ),
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Replace an existing export file.")
        ] = False,
        workspace_dir: WorkspaceOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Export a run's requirement results and every item as JSON lines for a SIEM.

        auditkit only writes the file; send it with your SIEM's own tools.
        Example: auditkit export --run 2 --format ocsf --out run2.ocsf.jsonl.gz
        """
        import sys

        from auditkit.pack.export import export_run
        from auditkit.report.siem import FORMATS, ExportOptions
        from auditkit.sign.keys import load_signing_material
        from auditkit.store import open_store

        if output_format not in FORMATS:
            raise ConfigError("--format must be ocsf, ecs or splunk")
        if bulk_index is not None and output_format != "ecs":
            raise ConfigError("--bulk-index applies to --format ecs only")
        if bulk_index is not None and (
            not bulk_index or bulk_index != bulk_index.strip() or not bulk_index.isprintable()
        ):
            raise ConfigError("--bulk-index must be a plain index or data stream name")
        to_stdout = out == "-"
        if to_stdout and json_out:
            raise ConfigError("--json cannot be used with --out - (the lines go to stdout)")
        ws = workspace(workspace_dir)
        material = None
        if not to_stdout:
            try:
                material = load_signing_material(ws.keys_dir)
            except KeyMaterialError as exc:
                raise KeyMaterialError(
                    f"{exc.message}; create keys with 'auditkit keygen'",
                    path=exc.path,
                    location=exc.location,
                ) from None
        catalog = load_catalog(ws.config.controls_dirs)
        options = ExportOptions(format=output_format, ecs_bulk_index=bulk_index)
        with open_store(ws, write=False) as con:
            result = export_run(
                con,
                catalog,
                run,
                None if to_stdout else Path(out),
                options,
                material=material,
                claimed_time=claimed_now(),
                force=force,
                stdout=sys.stdout.buffer if to_stdout else None,
            )
        if json_out:
            print_json(result.to_json())
        elif to_stdout:
            say(
                f"{result.counts.requirements} requirement results and {result.counts.items} "
                "items written to stdout (unsigned: write to a file for a signed export)"
            )
        else:
            say(
                f"{result.counts.requirements} requirement results and {result.counts.items} "
                f"items written to {result.path}; signature {result.signature}"
            )
            say(f"manifest key fingerprint (sha256): {result.key_fingerprint}")

    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the signed pack into.")],
        keep_workspace: Annotated[
            Path | None,
            typer.Option("--keep-workspace", help="Build the demo workspace here and keep it."),
        ] = None,
        make_zip: Annotated[
            bool, typer.Option("--zip", help="Also write a deterministic zip.")
        ] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Replace an existing pack folder.")
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Run the whole chain on the bundled sample company and write a signed pack.

        Example: auditkit demo --out demo-pack
        """
        from auditkit.demo import run_demo

        result = run_demo(
            out,
            keep_workspace=keep_workspace,
            make_zip=make_zip,
            force=force,
            on_step=None if json_out else say,
        )
        if json_out:
            print_json(
                {
                    **_pack_summary(result.pack),
                    "ephemeral_key": result.ephemeral_key,
                    "evaluation": result.summary.to_json(),
                }
            )
            return
        if result.ephemeral_key:
            say("no workspace key: signed with a throwaway key made for this demo")
        automated = [r for r in result.summary.requirements if r.checks]
        print_table(
            f"Demo run {result.summary.run_id} as of {result.summary.as_of}: candidate results "
            "of the requirements with automated checks",
            ["requirement", "candidate result", "procedures covered", "basis"],
            [
                [r.id, r.result, f"{r.procedures_covered} of {r.procedures_total}", r.basis]
                for r in automated
            ],
            styles={1: result_style},
        )
        manual = len(result.summary.requirements) - len(automated)
        say(
            f"{manual} further requirement(s) map no check (No automated evidence unless "
            "declared, or covered by attestations); all are in the pack"
        )
        say(counts_line(result.summary.counts()))
        say(f"signed pack written to {result.pack.path}")
        say(f"check it with: auditkit verify {result.pack.path}")
