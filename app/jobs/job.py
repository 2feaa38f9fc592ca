"""What a job is (a call to an importable function with plain arguments) and where it runs."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask

from app.database import write_intent


@dataclass(frozen=True)
class Job:
    fn: Callable[..., Any]
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    due: datetime | None = None  # None: as soon as possible

    @classmethod
    def build(cls, fn: Callable[..., Any], args: tuple | list, kwargs: dict,
              due: datetime | None = None) -> Job:
        """A checked job: `fn` importable by name, arguments plain JSON, `due` aware."""
        _check_importable(fn)
        if due is not None and due.tzinfo is None:
            raise ValueError("enqueue_at needs an aware datetime (UTC), not a naive one")
        try:
            # A JSON round trip, as RQ does, so both backends hand the job the same values.
            args, kwargs = json.loads(json.dumps([list(args), kwargs]))
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"{name_of(fn)}: job arguments must be plain values (ids, strings, numbers, "
                f"lists, dicts), not {error}"
            ) from None
        return cls(fn, args, kwargs, due)

    @property
    def name(self) -> str:
        return name_of(self.fn)

    def perform(self, app: Flask) -> Any:
        """Call the function the way every backend does: in an app context, as a writer."""
        with context(app):
            return self.fn(*self.args, **self.kwargs)


@contextmanager
def context(app: Flask) -> Iterator[None]:
    """The context every job runs in: its own app context (and session), as a DB writer."""
    with app.app_context(), write_intent():
        yield


def name_of(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _check_importable(fn: Callable[..., Any]) -> None:
    """Refuse what a worker process could not import by name (lambdas, closures, methods)."""
    module_name = getattr(fn, "__module__", None)
    ok = (
        module_name not in (None, "__main__")
        and getattr(fn, "__qualname__", None) == getattr(fn, "__name__", None)
        and getattr(importlib.import_module(module_name), fn.__name__, None) is fn
    )
    if not ok:
        raise TypeError(f"{name_of(fn)}: a job must be a module-level function")
