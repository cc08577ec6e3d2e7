"""Names a package exports but imports only when first used, so that importing the package
(`import assistant`, `import index`) stays cheap: the model, Chroma and spaCy load when a user
reaches for what needs them, not before."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's module `__getattr__` and `__dir__` for `exports` (name -> module)."""
    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        package_module = importlib.import_module(package)
        return sorted(set(vars(package_module)) | set(exports))

    return __getattr__, __dir__
