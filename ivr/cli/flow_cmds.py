"""CLI commands for call flows: ``ivr flow check [FILE]`` and ``ivr flow graph [FILE]``."""

from __future__ import annotations

import click


@click.group("flow")
def flow_group() -> None:
    """Call flows (ivr/flows/*.toml): check them and draw them for compliance review."""


@flow_group.command("check")
@click.argument("files", nargs=-1, metavar="[FILE|NAME]...")
@click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Prompt catalog TOML (default: the shipped one or $IVR_PROMPTS_CATALOG).",
)
def check_cmd(files: tuple[str, ...], catalog_path: str | None) -> None:
    """Prove a flow fit to run: states reachable and able to end, keys announced = keys mapped, prompts exist,
    no "debt" prompt before the identity guard. No argument: every shipped flow. Exit 1, one line per problem."""
    from ivr.flows import check, load_flow, shipped_flows
    from ivr.language.prompts import load_catalog

    catalog = load_catalog(catalog_path)
    problems: list[str] = []
    for name in files or tuple(shipped_flows()):
        flow = load_flow(name)
        found = check(flow, catalog)
        problems += found
        if not found:
            click.echo(f"{flow.source}: {len(flow.states)} states, no problems")
    for line in problems:
        click.echo(line)
    if problems:
        raise click.exceptions.Exit(1)


@flow_group.command("graph")
@click.argument("file", required=False, default="default", metavar="[FILE|NAME]")
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid"]), default="dot", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout.")
def graph_cmd(file: str, fmt: str, out_path: str | None) -> None:
    """Write the flow as Graphviz DOT (render with `dot -Tsvg`) or Mermaid; debt states shaded, identity edges bold."""
    from pathlib import Path

    from ivr.flows import load_flow, to_dot, to_mermaid
    from ivr.language.prompts import load_catalog

    flow = load_flow(file)
    text = to_dot(flow, load_catalog()) if fmt == "dot" else to_mermaid(flow)
    if out_path:
        Path(out_path).write_text(text, encoding="utf-8")
        click.echo(f"{out_path}: {fmt}, {len(flow.states)} states")
    else:
        click.echo(text, nl=False)
