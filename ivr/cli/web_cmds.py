"""CLI commands for the console: ``ivr web`` (the server), ``ivr user`` (console logins), ``ivr token`` (API)."""

from __future__ import annotations

import getpass
import sys

import click

from ivr.cli.context import Context, pass_ctx
from ivr.errors import InputError, IvrError


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise InputError("--password-stdin: no password on standard input (one line expected)")
        return password
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


@click.group("user")
def user_group() -> None:
    """Console logins: admin (manages users), supervisor (controls campaigns, reviews), operator (reads)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "supervisor", "operator"]), required=True)
@click.option("--password-stdin", "password_stdin", is_flag=True, help="Read the password from one line of stdin.")
@pass_ctx
def user_add(ctx: Context, name: str, role: str, password_stdin: bool) -> None:
    """Create a console user (the first admin too)."""
    from ivr.db.session import open_database
    from ivr.web.accounts import add_user, check_name

    check_name(name)
    password = _read_password(password_stdin)
    with open_database(ctx.settings.database_url).begin() as s:
        add_user(s, name, role, password, _actor())
    click.echo(f"user {name!r} created ({role})")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", "password_stdin", is_flag=True, help="Read the password from one line of stdin.")
@pass_ctx
def user_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a user's password (their open sessions end; a lock is lifted)."""
    from ivr.db.session import open_database
    from ivr.web.accounts import find_user, set_password

    sessions = open_database(ctx.settings.database_url)
    with sessions() as s:
        find_user(s, name)  # say "no such user" before asking for a password
    password = _read_password(password_stdin)
    with sessions.begin() as s:
        set_password(s, name, password, _actor())
    click.echo(f"password of {name!r} changed")


@user_group.command("disable")
@click.argument("name")
@pass_ctx
def user_disable(ctx: Context, name: str) -> None:
    """Disable a user: they cannot log in and their open sessions end."""
    from ivr.db.session import open_database
    from ivr.web.accounts import disable_user

    with open_database(ctx.settings.database_url).begin() as s:
        disable_user(s, name, _actor())
    click.echo(f"user {name!r} disabled")


@user_group.command("list")
@pass_ctx
def user_list(ctx: Context) -> None:
    """List console users with role and state."""
    from ivr.db.session import open_database
    from ivr.web.accounts import list_users

    with open_database(ctx.settings.database_url)() as s:
        for u in list_users(s):
            last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"
            click.echo(f"{u.name}\t{u.role}\t{'active' if u.active else 'disabled'}\tlast login {last}")


@click.group("token")
def token_group() -> None:
    """API tokens, one per integration (sent as `Authorization: Bearer <token>`)."""


@token_group.command("add")
@click.argument("name")
@pass_ctx
def token_add(ctx: Context, name: str) -> None:
    """Create a token for an integration and print it once (only its hash is kept)."""
    from ivr.db.session import open_database
    from ivr.web.accounts import add_token

    with open_database(ctx.settings.database_url).begin() as s:
        token = add_token(s, name, _actor())
    click.echo(token)
    click.echo(f"token {name!r} created: store it now, it is not shown again", err=True)


@token_group.command("revoke")
@click.argument("name")
@pass_ctx
def token_revoke(ctx: Context, name: str) -> None:
    """Revoke an integration's token."""
    from ivr.db.session import open_database
    from ivr.web.accounts import revoke_token

    with open_database(ctx.settings.database_url).begin() as s:
        revoke_token(s, name, _actor())
    click.echo(f"token {name!r} revoked")


@token_group.command("list")
@pass_ctx
def token_list(ctx: Context) -> None:
    """List API tokens (names and use, never the tokens)."""
    from ivr.db.session import open_database
    from ivr.web.accounts import list_tokens

    with open_database(ctx.settings.database_url)() as s:
        for t in list_tokens(s):
            last = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
            click.echo(f"{t.name}\t{'active' if t.active else 'revoked'}\tlast used {last}")


@click.command("web")
@click.option("--host", help="Address to bind (default web.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default web.port, 8080).")
@pass_ctx
def web_cmd(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve the operators' console and the HTTP API (/api/, docs at /docs)."""
    import uvicorn

    from ivr.db.session import open_database
    from ivr.web.accounts import has_users
    from ivr.web.app import create_app

    settings = ctx.settings
    with open_database(settings.database_url)() as s:
        if not has_users(s):
            raise InputError(  # exit 2: a restart cannot create the user (RestartPreventExitStatus)
                "the console has no users yet: create the first admin with "
                "`ivr user add NAME --role admin` and start `ivr web` again"
            )
    app = create_app(settings)
    bind_host = host or settings.web.host
    bind_port = port if port is not None else settings.web.port
    _check_bind(bind_host, bind_port)
    ctx.announce(f"console on http://{bind_host}:{bind_port}/ (API docs at /docs)")
    try:
        uvicorn.run(
            app,
            host=bind_host,
            port=bind_port,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=3,
        )  # open live-wall streams end
    except SystemExit as exc:
        # uvicorn exits 3 when it cannot start (the port taken since the probe, a name with an address of another
        # family); ivr's 3 is "not found", which the units never restart: this failure is one to retry.
        if exc.code == UVICORN_STARTUP_FAILURE:
            raise IvrError(
                f"the console could not start on {bind_host}:{bind_port} (the reason is on the line above)"
            ) from None
        raise


UVICORN_STARTUP_FAILURE = 3


def _check_bind(host: str, port: int) -> None:
    """Say in one line why the console cannot listen (uvicorn would log and exit without the setting's name)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise IvrError(f"web.host {host!r}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(addr)
        except OSError as exc:
            raise IvrError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another with --port "
                "(web.port) or stop the program using it"
            ) from None
