"""Errors the operator sees as one line: what is wrong and what to do."""

from __future__ import annotations


class IvrError(Exception):
    """Base for errors shown to the user as a single line, never a traceback."""

    exit_code = 1


class ConfigError(IvrError):
    """A setting is missing or malformed; the message names the key."""

    exit_code = 2


class InputError(IvrError):
    """A file or argument given by the operator cannot be used."""

    exit_code = 2


class NotFoundError(IvrError):
    """A named campaign, debtor or model does not exist."""

    exit_code = 3


class ModelMissingError(IvrError):
    """A speech model file is not where the settings say it is."""

    exit_code = 4
