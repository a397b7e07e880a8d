"""`LoaderInfo`: what the generic loader and the CLI need to know about one file format."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from collections.abc import Mapping

from tfrec.data.interactions import InteractionLog
from tfrec.data.interactions import Interactions


@dataclasses.dataclass(frozen=True)
class LoaderInfo:
    """A file format: its loader function and the paths that function takes.

    Attributes:
        format_name: the registry name (`"maml-csv"`, `"ncf"`, ...).
        loader: the function; path arguments first, options keyword-only.
        required: path arguments that must be given, in positional order.
        optional: path arguments that may be given.
        flags: CLI flag (without `--`) -> path argument, e.g. `{"train": "train_path"}`.
        returns: `Interactions` (pre-split files) or `InteractionLog` (needs a splitter).
        description: one line for `--help` listings.
    """

    format_name: str
    loader: Callable[..., Interactions | InteractionLog]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    flags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    returns: type = Interactions
    description: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path argument, required ones first."""
        return self.required + self.optional

    @property
    def options(self) -> tuple[str, ...]:
        """Keyword arguments of the loader that are not paths (`name`, `min_rating`...)."""
        parameters = inspect.signature(self.loader).parameters
        return tuple(p for p in parameters if p not in self.paths)

    def load(self, **arguments) -> Interactions | InteractionLog:
        """Calls the loader; arguments may use path names or CLI flag names.

        Raises:
            ValueError: an unknown argument, or a required path missing.
        """
        resolved = {}
        for key, value in arguments.items():
            target = self.flags.get(key, key)
            if target not in self.paths and target not in self.options:
                accepted = sorted({*self.paths, *self.flags, *self.options})
                raise ValueError(
                    f"Received: `{key}=...` for format {self.format_name!r}. Expected one "
                    f"of: {', '.join(accepted)}."
                )
            if target in resolved:
                raise ValueError(f"Received `{target}` twice (as a path name and a flag).")
            resolved[target] = value
        missing = [p for p in self.required if resolved.get(p) is None]
        if missing:
            raise ValueError(
                f"Received no `{'`, `'.join(missing)}` for format {self.format_name!r}. "
                f"Expected the paths {', '.join(self.required)}"
                + (f" (optional: {', '.join(self.optional)})." if self.optional else ".")
            )
        return self.loader(**resolved)
