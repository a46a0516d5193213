"""Optional dependencies, imported on first use, with a message naming their extra."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require_extra"]


def require_extra(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it.

    Args:
        module: the module to import, e.g. ``"pandas"`` or ``"tqdm.auto"``.
        extra: the ``oneroster-client`` extra that installs it, e.g. ``"notebook"``.
        purpose: what needs it, for the message, e.g. ``"to_dataframe()"``.

    Returns:
        The imported module.

    Raises:
        ModuleNotFoundError: the dependency is not installed; the message names the extra
            and the ``pip install`` command.
    """
    top = module.partition(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.partition(".")[0] != top:
            raise  # the package is there but one of its own dependencies is broken
        raise ModuleNotFoundError(
            f"{purpose} needs {top}, which is not installed: "
            f'pip install "oneroster-client[{extra}]"',
            name=top,
        ) from None
