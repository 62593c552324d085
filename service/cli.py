"""Operators' commands: `flask --app service.app <command>`."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app

ROOT = Path(__file__).resolve().parent.parent


def _ctx():
    return current_app.extensions["context"]


def register(app: Flask) -> None:
    @app.cli.command("upgrade-db")
    def upgrade_db():
        """Create or migrate the database schema (Alembic)."""
        from .store.migrate import upgrade
        upgrade(current_app.config["DATABASE_URL"])
        click.echo("database at head")

    @app.cli.command("deploy")
    @click.option("--root", default=str(ROOT), help="folder holding bpmn/, dmn/ and forms/")
    def deploy(root):
        """Validate and deploy the BPMN, DMN and form files as a new version."""
        from .engine.definitions import read_bundle
        from .engine.errors import DefinitionError
        from .usecases.definitions import deploy as deploy_case
        try:
            version_id, is_new = deploy_case(_ctx(), read_bundle(Path(root)), "cli")
        except DefinitionError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"version {version_id} {'deployed' if is_new else 'already deployed'}")

    @app.cli.command("verify-audit")
    def verify_audit():
        """Check every audit chain (Art. 16, 18); the first broken event of each is printed and the
        exit status is 1 if there is one. The result is recorded and seals what it found intact."""
        from .usecases.audit import check
        report = check(_ctx(), None)
        for broken in report.breaks:
            click.echo(f"被改动：{broken}")
        click.echo(report.summary())
        click.echo(f"全局链头（含本次校验记录）：{report.global_head}。请另行保存（如运维日志），"
                   "与下次的对照，可发现整个日志被回退到从前")
        if not report.intact:
            click.get_current_context().exit(1)

    @app.cli.command("backup")
    @click.option("--to", "folder", required=True, type=click.Path(path_type=Path),
                  help="a new (or empty) folder for the backup")
    def backup(folder):
        """Back up the database (pg_dump custom format, or SQLite's backup API) and the archive files,
        with a manifest of what was saved; the service may keep running."""
        from .usecases import backup as backups
        try:
            outcome = backups.backup(_ctx(), folder)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"备份完成：{folder}\n{outcome.summary()}")

    @app.cli.command("restore")
    @click.option("--from", "folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--replace", is_flag=True, help="replace what the database holds now")
    def restore(folder, replace):
        """Restore a backup into this install's database and file store, then check it against the
        backup's manifest (row counts, files, audit chains); exit status 1 when anything differs.
        Stop the web workers and schedulers first."""
        from .usecases import backup as backups
        try:
            outcome = backups.restore(_ctx(), folder, replace)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"已恢复：{folder}\n{outcome.summary()}")
        if outcome.problems:
            click.get_current_context().exit(1)

    @app.cli.command("seed-demo")
    def seed_demo():
        """Jurisdictions, occupations, one user per role, institutions at several stages."""
        from .seed import seed_demo as run
        click.echo(run(_ctx()))

    @app.cli.command("load-reference")
    def load_reference():
        """Jurisdictions and occupations from data/; refreshes which occupations may be filed (Art. 4)."""
        from .usecases.reference import reload
        click.echo(reload(_ctx()))

    @app.cli.command("fire-timers")
    @click.option("--as-of", default=None, help="fire what was due at this instant (ISO), e.g. catch-up")
    def fire_timers(as_of):
        """What the scheduler does in one pass: scheduled starts, then due timers."""
        from .usecases.schedules import start_due
        from .usecases.timers import fire_due_timers
        when = datetime.fromisoformat(as_of) if as_of else None
        started = start_due(_ctx(), when)
        result = fire_due_timers(_ctx(), when)
        click.echo(f"scheduled starts {started}, fired {result.fired}, failed {result.failed}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--jurisdiction", default=None)
    @click.option("--institution", type=int, default=None)
    @click.password_option()
    def create_user(username, role, display_name, jurisdiction, institution, password):
        from .usecases.accounts import create_user as create
        from .usecases.errors import Invalid
        try:
            user_id = create(_ctx(), username, password, display_name, role, jurisdiction, institution)
        except Invalid as error:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in error.errors.items())) from None
        click.echo(f"user {user_id} created")

    @app.cli.command("deactivate-user")
    @click.argument("username")
    @click.option("--activate", is_flag=True, help="let the user log in again instead")
    def deactivate_user(username, activate):
        """Deactivate a user: every session of theirs ends at once (--activate undoes it)."""
        from .usecases.accounts import set_active
        from .usecases.errors import NotFound
        try:
            set_active(_ctx(), username, activate)
        except NotFound as error:
            raise click.ClickException(error.message) from None
        click.echo(f"user {username} {'activated' if activate else 'deactivated, sessions ended'}")

    @app.cli.command("set-password")
    @click.argument("username")
    @click.password_option()
    def set_password(username, password):
        """Set a user's password: every session opened with the old one ends."""
        from .usecases.accounts import set_password as change
        from .usecases.errors import Invalid, NotFound
        try:
            change(_ctx(), username, password)
        except NotFound as error:
            raise click.ClickException(error.message) from None
        except Invalid as error:
            raise click.ClickException("; ".join(error.errors.values())) from None
        click.echo(f"password of {username} set, sessions ended")

    @app.cli.command("create-institution")
    @click.argument("name")
    @click.option("--credit-code", required=True)
    @click.option("--kind", required=True, type=click.Choice(["enterprise", "school", "social_org"]))
    @click.option("--jurisdiction", required=True)
    def create_institution(name, credit_code, kind, jurisdiction):
        """Register an institution; then `create-user … --role institution --institution ID`."""
        from .usecases.accounts import create_institution as create
        from .usecases.errors import Invalid
        try:
            institution_id = create(_ctx(), name, credit_code, kind, jurisdiction)
        except Invalid as error:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in error.errors.items())) from None
        click.echo(f"institution {institution_id} created")

    @app.cli.command("clock")
    @click.option("--set", "to", default=None, help="set the training clock to this instant (ISO)")
    @click.option("--advance-days", type=int, default=None)
    def clock(to, advance_days):
        """Show, set or advance the training clock (training instances only)."""
        from .usecases.clock import move
        from .usecases.errors import Forbidden, Invalid
        if to is None and advance_days is None:
            click.echo(_ctx().clock.now().isoformat())
            return
        try:
            now = move(_ctx(), None, datetime.fromisoformat(to) if to else None, advance_days)
        except Forbidden as error:
            raise click.ClickException(error.message) from None
        except Invalid as error:
            raise click.ClickException("; ".join(error.errors.values())) from None
        click.echo(now.isoformat())

    @app.cli.command("scheduler")
    @click.option("--interval", default=15, help="seconds between passes")
    def scheduler(interval):
        """Run the scheduler process (its own process; never inside web workers)."""
        from .scheduler.runner import run
        run(_ctx(), interval)
