"""`retention-bot sync`: import each kind from the warehouse with its [sync.queries] query."""

from __future__ import annotations

import click

from bot.cli import Ctx, SettingError, cli, err, out, pass_ctx
from bot.cli.data import BadInput
from bot.cli.progress import Bar, progress
from services import sync as sync_mod
from services.errors import ConfigError
from storage.importer import KINDS


@cli.command("sync")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(list(KINDS)),
    help="Sync only this kind (repeat for several). Default: every kind with a query.",
)
@click.option("--dry-run", is_flag=True, help="Read and check everything, report the counts, write nothing.")
@pass_ctx
def sync_cmd(ctx: Ctx, kinds: tuple[str, ...], dry_run: bool) -> None:
    """Import from the warehouse: one SQL query per kind under [sync.queries] of the policy file.

    The same checks as `retention-bot import`; all kinds in one transaction: a bad row, a failed
    query or an unreachable warehouse leaves the data as it was. See docs/sync.md.
    """
    cfg = ctx.settings.policies.sync
    if cfg.url is None:
        raise SettingError(
            "no warehouse to sync from: add [sync] url and [sync.queries] to the policy file "
            "named by RETENTION_BOT_CONFIG (docs/sync.md)"
        )
    try:
        order = sync_mod.sync_kinds(cfg, kinds)
    except ConfigError as exc:
        raise SettingError(str(exc)) from None
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    where = sync_mod.describe(cfg)
    with progress(f"sync from {where}", total=len(order)) as board:
        lines: dict[str, Bar] = {}

        def on_rows(kind: str, rows: int, finished: bool) -> None:
            if kind not in lines:
                lines[kind] = board.add(kind)
            lines[kind].update(
                completed=rows,
                total=rows if finished else None,
                description=f"{kind}: read" if finished else f"{kind}: reading",
            )
            if finished:
                board.advance()

        try:
            report = sync_mod.sync(ctx.db, ws, cfg, kinds=order, dry_run=dry_run, on_rows=on_rows)
        except sync_mod.SyncFailed as exc:
            for line in exc.lines():
                err.print(line, markup=False, highlight=False, soft_wrap=True)
            raise BadInput(f"{exc}") from None
        except (sync_mod.WarehouseError, ConfigError) as exc:
            raise BadInput(f"sync failed: {exc}; nothing was written") from None
    for r in report.results:
        out.print(
            f"{r.kind:<12} {r.inserted:>9,} inserted {r.updated:>9,} updated {r.unchanged:>9,} unchanged",
            markup=False,
            highlight=False,
        )
    done = "checked (dry run: nothing written)" if report.dry_run else "synced"
    out.print(
        f"{report.rows:,} rows of {len(report.results)} kind(s) {done} from {where} "
        f"in {report.seconds:.1f} s",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
