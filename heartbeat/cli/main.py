"""The `heartbeat` command: a thin layer over the library.

Commands call library functions; a HeartbeatError becomes one line on stderr and its exit code
(1 refused or not found, 2 usage or configuration) here and nowhere else.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.engine import make_url

import connectors.prestashop as prestashop  # its demo generator loads when `demo init` asks for it
from core.errors import MAX_ID, HeartbeatError, Refused
from heartbeat import daemon
from heartbeat.app import App
from heartbeat.cli import audit as audit_cli
from heartbeat.cli import notify as notify_cli
from heartbeat.cli import progress, screens
from heartbeat.cli import users as users_cli
from heartbeat.cli.output import json_option, print_json
from heartbeat.cli.views import profiles_table, task_details, tasks_table, waiting_lines
from heartbeat.config import loader as config_module
from heartbeat.config.shops import check_shops
from heartbeat.ops import logs
from heartbeat.ops import status as status_report
from heartbeat.web.commands import web
from reports.action_log import plural
from tasks.states import TaskStatus
from tasks.stores.uploads import UploadStatus

TASK_STATUSES = [s.value for s in TaskStatus]
FINISHED_STATUSES = [s.value for s in TaskStatus if s.finished]


class HeartbeatGroup(click.Group):
    """Turns domain errors into one clear line and an exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HeartbeatError as exc:
            click.echo(f"heartbeat: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:  # `heartbeat tasks report 7 | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:
            click.echo(f"heartbeat: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            ctx.exit(1)


action_json = json_option("Print the affected task's `tasks show --json` object instead of a line.")
MAX_LIMIT = 10_000  # tasks a list shows at once
MAX_AGE_DAYS = 36_500  # --older-than: a century


class TaskId(click.ParamType):
    """A task id: a whole number; one no task can have (0, or past the largest id) is "not found"
    (exit 1) once the command asks for it, like any missing task, never an overflow."""

    name = "id"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not text.isdigit():
            self.fail(f"{value!r} is not a task id (a whole number)", param, ctx)
        return int(text)


TASK_ID = TaskId()
output_option = click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False),
                             help="Write to FILE (atomically) instead of standard output.")


@contextmanager
def output(path: str | None, binary: bool = False):
    """Standard output, or FILE written through a temporary file renamed at the end, so an error
    never leaves a partial FILE behind."""
    if path is None:
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(path)
    if not target.parent.is_dir():
        raise Refused(f"cannot write {target}: directory {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # like any file we create, not mkstemp's private 0600
    try:
        mode = "wb" if binary else "w"
        with os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.group(cls=HeartbeatGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="Config file (default: $HEARTBEAT_CONFIG, else ./heartbeat.toml).")
@click.version_option(package_name="heartbeat")
@click.pass_context
def cli(ctx, config_path):
    """Heartbeat: scheduled import/export tasks between a PrestaShop shop and a sync platform."""
    ctx.obj = App(config_path)


def _configure_logs(app: App) -> None:
    logs.configure(app.config.log_format, app.config.log_level)


@cli.command()
@click.pass_obj
def run(app):
    """Run the daemon: a heartbeat every `interval` seconds until SIGTERM/SIGINT."""
    _configure_logs(app)
    sys.exit(daemon.run(app))


@cli.command()
@click.option("--until-idle", is_flag=True, help="Tick back to back until nothing is due or running.")
@click.pass_obj
def tick(app, until_idle):
    """Do one heartbeat now (for system cron), or several with --until-idle."""
    _configure_logs(app)
    sys.exit(daemon.tick(app, until_idle))


@cli.command()
@json_option()
@click.pass_obj
def status(app, as_json):
    """Is Heartbeat alive? Exit 0 when a daemon (or cron tick) ticked recently and no profile's last
    task failed; else 1, with the reasons on stderr (docs/operations.md)."""
    report = status_report.collect(app)
    if as_json:
        print_json(report.to_json())
    else:
        click.echo(report.text())
    for problem in report.problems:
        click.echo(f"heartbeat: {problem}", err=True)
    sys.exit(0 if report.ok else 1)


@cli.group()
def db():
    """The state database."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app):
    """Create or upgrade the state database schema (run and tick also do this)."""
    click.echo(f"state database at revision {app.store.schema_revision()}")  # opening it upgrades it


@cli.group()
def demo():
    """The SQLite demo shop the example config points at."""


@demo.command("init")
@click.option("--products", default=1000, show_default=True, type=click.IntRange(1, 10_000_000),
              help="How many products to generate.")
@click.option("--connection", "connection_name", help="The prestashop connection to fill.")
@click.option("--if-missing", is_flag=True, help="Do nothing if the demo shop already exists.")
@click.option("--force", is_flag=True, help="Replace an existing demo shop.")
@click.option("--shops", default=1, show_default=True, type=click.IntRange(1, 2),
              help="2: also a second shop, Outlet (id_shop 2), selling every other product (multistore).")
@click.pass_obj
def demo_init(app, products, connection_name, if_missing, force, shops):
    """Create the demo shop with generated products, in PrestaShop's own tables."""
    conn = app.demo_shop(connection_name)
    url = conn.options["url"]
    database = make_url(url).database
    if database and Path(database).exists() and if_missing and not force:
        click.echo(f"demo shop already exists: {database}")
        return
    n = prestashop.create_demo_shop(url, products=products, prefix=conn.options.get("prefix", "ps_"),
                                    overwrite=force, shops=shops)
    click.echo(f"demo shop created: {plural(n, 'product')} in {database or url}")


@cli.group()
def profiles():
    """Configured profiles."""


@profiles.command("list")
@json_option()
@click.pass_obj
def profiles_list(app, as_json):
    """List profiles with their schedule, next run and last task."""
    rows = app.tasks.profiles()
    if as_json:
        print_json(rows)
    else:
        click.echo(profiles_table(rows))


@profiles.command("check")
@click.pass_obj
def profiles_check(app):
    """Validate the config file; exit 2 with file, key and reason on the first mistake. Reachable
    shops are asked whether they have the configured id_shop and id_lang; one that does not answer
    is a note on stderr (exit 0)."""
    cfg = app.config
    config_module.check_environment(cfg)
    for note in check_shops(cfg):
        click.echo(f"heartbeat: note: {note}", err=True)
    click.echo(f"{cfg.path}: OK ({plural(len(cfg.connections), 'connection')}, "
               f"{plural(len(cfg.profiles), 'profile')})")


@profiles.command("run")
@click.argument("name")
@click.option("--full", is_flag=True, help="Export every product, even those unchanged since last time.")
@click.option("--dry-run", is_flag=True,
              help="Plan and report every item, but write, send and track nothing (imports, exports).")
@click.option("--force", is_flag=True,
              help="Skip the suspicious-feed guard and the unchanged-feed check (imports) or the export "
                   "guard (exports), this once.")
@action_json
@click.pass_obj
def profiles_run(app, name, full, dry_run, force, as_json):
    """Queue a task of profile NAME now; prints its id (refused, with the pending task's id, while
    the same run is still pending)."""
    task = app.tasks.queue(name, full=full, dry_run=dry_run, force=force)
    what = "dry-run task" if dry_run else "task"
    _queued(app, task, f"{task.kind} profile {task.profile}: queued {what} {task.id}", as_json)


@profiles.command("stats")
@click.argument("name")
@json_option()
@click.pass_obj
def profiles_stats(app, name, as_json):
    """An export profile's pending changes: new, changed and deleted products since it last sent them."""
    stats = app.tasks.profile_stats(name)
    if as_json:
        print_json(stats)
        return
    for key in ("new", "changed", "deleted", "unchanged", "invalid"):
        click.echo(f"{key + ':':<11} {stats[key]}")


@cli.group()
def tasks():
    """The task manager: list, inspect, kill and delete tasks; download their files."""


@tasks.command("list")
@click.option("--status", type=click.Choice(TASK_STATUSES), help="Only tasks with this status.")
@click.option("--profile", help="Only tasks of this profile.")
@click.option("--kind", type=click.Choice(["export", "import", "maintenance"]),
              help="Only tasks of this kind.")
@click.option("--before", type=click.IntRange(1, MAX_ID), metavar="ID",
              help="Only tasks older than task ID (the next page after one that ended with ID).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, MAX_LIMIT))
@json_option()
@click.pass_obj
def tasks_list(app, status, profile, kind, before, limit, as_json):
    """List tasks, newest first."""
    found = app.tasks.list(status=status, profile=profile, limit=limit, kind=kind, before=before)
    if as_json:
        print_json([t.to_json() for t in found])
    else:
        click.echo(tasks_table(found))
        for line in waiting_lines(found):
            click.echo(line)


@tasks.command("show")
@click.argument("task_id", type=TASK_ID)
@json_option()
@click.pass_obj
def tasks_show(app, task_id, as_json):
    """Show one task: every field, its message and its progress breakdown."""
    if as_json:
        print_json(app.tasks.show_json(task_id))
        return
    task, delivery = app.tasks.show(task_id), app.tasks.delivery(task_id)
    click.echo(task_details(task, app.tasks.delivery_line(delivery) if delivery else None))


@tasks.command("deliver")
@click.argument("task_id", type=TASK_ID)
@action_json
@click.pass_obj
def tasks_deliver(app, task_id, as_json):
    """Upload a completed export task's file to its http target again, now (exit 1 if that fails)."""
    _configure_logs(app)  # the attempt's log events go to stderr, as the daemon's do
    delivery = app.tasks.deliver(task_id)
    _queued(app, app.tasks.show(task_id), f"task {task_id}: {app.tasks.delivery_line(delivery)}", as_json)
    if delivery.status is not UploadStatus.DELIVERED:
        sys.exit(1)


@tasks.command("watch")
@click.argument("task_id", type=TASK_ID)
@click.option("--every", default=1.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between two looks at the task.")
@click.pass_obj
def tasks_watch(app, task_id, every):
    """Follow a task with a live progress bar (on a terminal) until it ends: exit 0 when it
    completed, 1 for any other end."""
    sys.exit(progress.watch(app.tasks.show, task_id, sys.stdout, every=every))


@tasks.command("kill")
@click.argument("task_id", type=TASK_ID)
@action_json
@click.pass_obj
def tasks_kill(app, task_id, as_json):
    """Kill a pending or running task; its pending items become cancelled."""
    task = app.tasks.kill(task_id)
    _queued(app, task, f"task {task.id} killed: {plural(task.progress.cancelled, 'pending item')} cancelled",
            as_json)


@tasks.command("retry")
@click.argument("task_id", type=click.IntRange(min=1))
@json_option()
@click.pass_obj
def tasks_retry(app, task_id, as_json):
    """Queue a new task of the same profile with only task ID's error items; prints its id."""
    task = app.tasks.retry(task_id)
    if as_json:
        print_json(app.tasks.show_json(task.id))
        return
    click.echo(f"retry of task {task_id} ({task.profile}): queued task {task.id}")  # the id comes last


@tasks.command("delete")
@click.argument("task_id", type=TASK_ID)
@json_option('Print {"deleted": ID, "problems": [...]}.')
@click.pass_obj
def tasks_delete(app, task_id, as_json):
    """Delete a task with its items, action log and export file (killing it first if needed)."""
    removed = app.tasks.delete(task_id)
    if as_json:
        print_json({"deleted": task_id, "problems": removed.problems})
    else:
        click.echo(f"task {task_id} deleted")
    _problems(removed.problems)


@tasks.command("log")
@click.argument("task_id", type=TASK_ID)
@output_option
@click.pass_obj
def tasks_log(app, task_id, output_file):
    """The task's action log as text."""
    lines = app.tasks.log(task_id)
    with output(output_file) as out:
        out.writelines(lines)


@tasks.command("report")
@click.argument("task_id", type=TASK_ID)
@output_option
@click.pass_obj
def tasks_report(app, task_id, output_file):
    """The task's CSV report: every queued product, its outcome and why."""
    lines = app.tasks.report(task_id)
    with output(output_file) as out:
        out.writelines(lines)


@tasks.command("export-file")
@click.argument("task_id", type=TASK_ID)
@output_option
@click.pass_obj
def tasks_export_file(app, task_id, output_file):
    """The JSON file an export task produced for the sync platform."""
    chunks = app.tasks.export_file(task_id)
    with output(output_file, binary=True) as out:
        for chunk in chunks:
            out.write(chunk)


class Age(click.ParamType):
    """A duration like 30d, 12h, 90m or 2w."""

    name = "age"
    UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

    def convert(self, value, param, ctx):
        if isinstance(value, timedelta):
            return value
        text = str(value).strip().lower()
        if len(text) < 2 or text[-1] not in self.UNITS or not text[:-1].isdigit():
            self.fail(f"{value!r} is not a duration like 30d, 12h, 90m or 2w", param, ctx)
        seconds = int(text[:-1]) * self.UNITS[text[-1]]
        if seconds > MAX_AGE_DAYS * 86400:
            self.fail(f"{value!r} is more than {MAX_AGE_DAYS} days", param, ctx)
        return timedelta(seconds=seconds)


@tasks.command("prune")
@click.option("--older-than", "age", type=Age(), required=True,
              help="Delete tasks that finished longer ago than this (30d, 12h, 90m, 2w).")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(FINISHED_STATUSES),
              help="Only tasks with this status (repeatable). Default: every finished status.")
@json_option('Print {"deleted": [ids]}.')
@click.pass_obj
def tasks_prune(app, age, statuses, as_json):
    """Delete finished tasks with their items, logs and export files."""
    removed = app.tasks.prune(age, statuses or None)
    if as_json:
        print_json({"deleted": [t.id for t in removed.tasks]})
    else:
        click.echo(f"{plural(len(removed.tasks), 'finished task')} deleted")
    _problems(removed.problems)


@tasks.command("result")
@click.argument("task_id", type=TASK_ID)
@output_option
@click.pass_obj
def tasks_result(app, task_id, output_file):
    """A maintenance task's JSON dictionary: each bad pattern, how often it was found and fixed."""
    text = app.tasks.result_text(task_id)
    with output(output_file) as out:
        out.write(text)


@tasks.command("undo")
@click.argument("task_id", type=TASK_ID)
@action_json
@click.pass_obj
def tasks_undo(app, task_id, as_json):
    """Restore every shop row a maintenance fix changed, as it was, before this command exits.

    All rows or none, in one transaction: refused with the reason if a row changed since the fix
    (someone edited it) or the fix was undone already."""
    restored = app.tasks.undo(task_id)
    if as_json:
        print_json({**app.tasks.show_json(task_id), "restored": restored})
    else:
        click.echo(f"task {task_id}: {plural(restored, 'row')} restored")


@cli.group()
def maintenance():
    """Integrity analyses and fixes of a shop's products and sales orders (docs/maintenance.md)."""


@maintenance.command("list")
@click.pass_obj
def maintenance_list(app):
    """The operations, one line each: scope, operation, what it does."""
    for scope, operation, what in app.tasks.maintenance_operations():
        click.echo(f"{scope:<9} {operation:<21} {what}")


@maintenance.command("run")
@click.argument("connection")
@click.argument("operation")
@click.option("--scope", type=click.Choice(["products", "orders"]), default="products", show_default=True)
@action_json
@click.pass_obj
def maintenance_run(app, connection, operation, scope, as_json):
    """Queue a maintenance task on a prestashop CONNECTION now; prints its id. A fix queued while
    another fix of that connection runs waits its turn (pending)."""
    task = app.tasks.run_maintenance(connection, operation, scope)
    _queued(app, task, f"maintenance {scope} {operation} on {connection}: queued task {task.id}", as_json)


@cli.group()
def categories():
    """The category mapping: platform taxonomies, the mapping table, overrides (docs/categories.md)."""


@categories.group("columns", invoke_without_command=True)
@json_option()
@click.pass_context
def categories_columns(ctx, as_json):
    """The mapping table's columns: shop connections and platforms, with their taxonomies
    (`categories columns add NAME` creates one)."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.obj
    columns = app.categories.columns()
    if as_json:
        print_json(columns)
        return
    for c in columns:
        taxonomy = (f"taxonomy of {plural(c['taxonomy'], 'category', 'categories')} from {c['taxonomy_file']}"
                    if c["taxonomy"] else "no taxonomy")
        mapped = plural(c["mapped"], "mapped category", "mapped categories")
        click.echo(f"{c['name']:<20} {c['kind']:<8} {mapped}, {taxonomy}")


@categories_columns.command("add")
@click.argument("name")
@click.pass_obj
def categories_columns_add(app, name):
    """Add an empty column NAME (a platform to map to) to the mapping table (`categories set`
    refuses a column that does not exist)."""
    app.categories.add_column(name)
    click.echo(f"column {name} added")


@categories.group("taxonomy")
def categories_taxonomy():
    """A platform's category tree, so mapped categories are checked and shown with their path."""


@categories_taxonomy.command("load")
@click.argument("column")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def categories_taxonomy_load(app, column, file):
    """Load FILE (Google's taxonomy-with-ids, or a CSV of id,path) as COLUMN's taxonomy."""
    parsed = app.categories.load_taxonomy(column, file)
    version = f" (version {parsed.version})" if parsed.version else ""
    loaded = plural(len(parsed.entries), "category", "categories")
    click.echo(f"{column}: {loaded} loaded from {file}{version}")


@categories.command("export")
@output_option
@click.pass_obj
def categories_export(app, output_file):
    """Write the mapping table as CSV: ids per column, then their paths (ignored on import)."""
    with output(output_file) as out:
        app.categories.export_csv(out)


@categories.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def categories_import(app, file):
    """Replace the mapping table by FILE's (CSV; cells are ids or full paths), all or nothing."""
    rows = app.categories.import_csv(file)
    click.echo(f"mapping table: {plural(rows, 'row')} imported from {file}")


connection_option = click.option("--connection", help="The prestashop connection (default: the only one).")


@categories.command("set")
@click.argument("product_id", type=click.IntRange(1, MAX_ID))
@click.argument("column")
@click.argument("category")
@connection_option
@click.pass_obj
def categories_set(app, product_id, column, category, connection):
    """Product PRODUCT_ID goes to CATEGORY (an id or path) of COLUMN, whatever rules or table say."""
    ident = app.categories.set_override(product_id, column, category, connection)
    click.echo(f"product {product_id}: {column} category {ident}")


@categories.command("unset")
@click.argument("product_id", type=click.IntRange(1, MAX_ID))
@click.argument("column")
@connection_option
@click.pass_obj
def categories_unset(app, product_id, column, connection):
    """Remove product PRODUCT_ID's COLUMN override: rules and the table decide again."""
    app.categories.unset_override(product_id, column, connection)
    click.echo(f"product {product_id}: {column} override removed")


@categories.command("unmapped")
@click.argument("profile")
@json_option()
@click.pass_obj
def categories_unmapped(app, profile, as_json):
    """The shop categories whose products PROFILE cannot give a category, most products first."""
    rows = app.categories.unmapped(profile)
    if as_json:
        print_json([row.as_json() for row in rows])
        return
    if not rows:
        click.echo(f"{profile}: every product has a category")
    for row in rows:
        click.echo(f"{row.id_category:>6}  {plural(row.products, 'product'):>14}  {row.path}")


@categories.command("suggest")
@click.argument("column")
@connection_option
@click.option("--limit", default=3, show_default=True, type=click.IntRange(min=1, max=20),
              help="Candidates per shop category.")
@click.option("--csv", "as_csv", is_flag=True,
              help="Print the mapping table with the best candidates appended, to review and import.")
@output_option
@click.pass_obj
def categories_suggest(app, column, connection, limit, as_csv, output_file):
    """Propose COLUMN categories for unmapped shop categories, by the words of their paths and
    products' names. Writes nothing."""
    suggestions = app.categories.suggest(column, connection, limit)
    with output(output_file) as out:
        if as_csv:
            app.categories.export_csv(out, app.categories.suggestion_rows(suggestions, column, connection))
            return
        if not suggestions:
            out.write(f"every shop category holding products is mapped in {column}\n")
        for s in suggestions:
            out.write(f"{s.category.id_category} {s.category.path!r} "
                      f"({plural(s.category.products, 'product')}):\n")
            for ident, path, score in s.candidates:
                out.write(f"    {score:5.1f}  {ident:<8} {path}\n")


web.add_command(users_cli.user)
cli.add_command(web)
cli.add_command(notify_cli.notify)
cli.add_command(screens.connections)
profiles.add_command(screens.profiles_pause)
profiles.add_command(screens.profiles_resume)
notify_cli.notify.add_command(screens.notify_retry)
cli.add_command(audit_cli.audit)


def _queued(app, task, line: str, as_json: bool) -> None:
    """What a command that queued or changed a task prints: its `tasks show --json` object, or
    one line ending with the task id (on a terminal or not)."""
    if as_json:
        print_json(app.tasks.show_json(task.id))
    else:
        click.echo(line)


def _problems(problems: list[str]) -> None:
    """Files that could not be removed: one line each on stderr, and exit 1."""
    for problem in problems:
        click.echo(f"heartbeat: {problem}", err=True)
    if problems:
        sys.exit(1)


def main() -> None:
    """The console script: click's usage errors become one line too (exit 2)."""
    try:
        code = cli.main(prog_name="heartbeat", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `heartbeat`: the help, as usual
        click.echo(exc.ctx.get_help())
        sys.exit(0)
    except click.UsageError as exc:
        where = f"heartbeat {exc.ctx.command_path.partition(' ')[2]}".strip() if exc.ctx else "heartbeat"
        click.echo(f"heartbeat: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("heartbeat: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
