"""The product, platform-neutral: the names adapters use, handed on from where they live.

`Clusterbot` (commands/product.py) is the whole product behind a few calls; `Caller` says who asks and
where (commands/context.py). The names are looked up on first use, so importing a light module of the
package (the Reply vocabulary, `commands.results`) does not import every family and the libraries
behind them (matplotlib, openpyxl, python-docx)."""

__all__ = ["Caller", "Clusterbot", "UNAVAILABLE"]

_WHERE = {"Clusterbot": "commands.product", "UNAVAILABLE": "commands.product", "Caller": "commands.context"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'commands' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
