"""Errors that mean bad input, as opposed to a bug.

Every exception a user can cause with a file, a flag or a setting derives from :class:`InputError`, and its
message names where (``file:line: ...``, ``recipe.json: o.train.lr: ...`` or ``--thresh: ...``). The
command-line layer (``cli.run``) prints such an error as one line; any other exception is a bug and is
shown with its traceback and a line asking to report it.
"""


class InputError(ValueError):
    """Bad input (a file, a flag, a setting); the message says where and what is wrong."""


class SettingError(InputError):
    """A setting of a recipe, a model card or a flag that has the wrong type, is out of range or unknown."""


class ModelError(InputError):
    """A checkpoint or exported model that cannot be found, read or matched to a network."""
