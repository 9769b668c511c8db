"""Device plugins: ``--device`` specs and the ``hvmm.devices`` entry points.

A spec names a device class and its keyword arguments::

    package.module:Class                     a class (or factory) to import
    package.module:Class,port=0x520,irq=5    ... called with port=0x520, irq=5
    example-counter,irq=7                    an entry point's name

Values are parsed as int (``0x``, ``0o``, ``0b`` prefixes allowed), float,
bool (``true``/``false``/``yes``/``no``, any case) or else str; quote a value
(``name="a,b"`` or ``name='1'``) to keep it a str.  Keys may use ``-`` for
``_``.

Installed packages register devices under the entry-point group
``hvmm.devices`` (pyproject.toml)::

    [project.entry-points."hvmm.devices"]
    example-counter = "hvmm_example_device:CounterDevice"

Every problem is a :class:`hvmm.errors.ConfigError` with a one-line message.
"""

from __future__ import annotations

import importlib
import inspect
import re
from importlib import metadata

from hvmm.errors import ConfigError

ENTRY_POINT_GROUP = "hvmm.devices"

_INT_RE = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)\Z")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_TARGET_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\Z")
_NAME_RE = re.compile(r"[A-Za-z0-9_][\w.+-]*\Z")
_BOOLS = {"true": True, "yes": True, "false": False, "no": False}


def parse_value(text: str):
    """``"0x510"`` -> 1296, ``"2.5"`` -> 2.5, ``"true"`` -> True, ``"'7'"``
    -> ``"7"``, anything else -> the string."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if _INT_RE.match(text):
        return int(text, 0) if not re.match(r"[+-]?0[0-9]", text) else int(text, 10)
    low = text.lower()
    if low in _BOOLS:
        return _BOOLS[low]
    try:
        if low not in ("nan", "inf", "-inf", "+inf", "infinity"):
            return float(text)
    except ValueError:
        pass
    return text


def _split_commas(spec: str) -> list[str]:
    """Split on commas outside single or double quotes."""
    parts, current, quote = [], [], None
    for ch in spec:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote:
        raise ConfigError(f"bad device spec {spec!r}: unterminated quote")
    parts.append("".join(current))
    return parts


def parse_device_spec(spec: str) -> tuple[str, dict]:
    """``"pkg.mod:Class,port=0x520"`` -> ``("pkg.mod:Class", {"port": 0x520})``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("empty device spec: expected package.module:Class[,key=value...] or a name")
    parts = _split_commas(spec.strip())
    target = parts[0].strip()
    if not target:
        raise ConfigError(f"bad device spec {spec!r}: no device before the options")
    if not (_TARGET_RE.match(target) or (":" not in target and _NAME_RE.match(target))):
        raise ConfigError(
            f"bad device spec {spec!r}: expected package.module:Class or an entry-point name"
        )
    options: dict = {}
    for part in parts[1:]:
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not _KEY_RE.match(key):
            raise ConfigError(f"bad device option {part!r} in {spec!r}: expected key=value")
        key = key.replace("-", "_")
        if key in options:
            raise ConfigError(f"device option {key!r} given twice in {spec!r}")
        options[key] = parse_value(value.strip())
    return target, options


def device_entry_points() -> dict:
    """Installed devices: entry-point name -> ``EntryPoint`` (group
    ``hvmm.devices``; the first distribution wins if two use one name)."""
    found = {}
    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # broken metadata of some unrelated package
        return found
    for ep in eps:
        found.setdefault(ep.name, ep)
    return found


def _import_target(target: str, label: str):
    module_name, _, attr_path = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        raise ConfigError(
            f"device {label}: cannot import {module_name}: no module named {missing!r}"
        ) from None
    except Exception as exc:
        raise ConfigError(
            f"device {label}: importing {module_name} failed: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())}"
        ) from None
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigError(f"device {label}: {module_name} has no {attr_path!r}") from None
    return obj


def resolve_device(target: str):
    """The class (or factory) a spec's target names: ``module:Attr`` is
    imported; a bare name is looked up among the ``hvmm.devices`` entry
    points."""
    if ":" in target:
        return _import_target(target, f"'{target}'")
    eps = device_entry_points()
    ep = eps.get(target)
    if ep is None:
        known = ", ".join(sorted(eps)) or "none installed"
        raise ConfigError(
            f"unknown device {target!r}: not package.module:Class and not an installed "
            f"'{ENTRY_POINT_GROUP}' entry point (available: {known})"
        )
    value = getattr(ep, "value", "")
    if _TARGET_RE.match(value or ""):
        return _import_target(value, f"'{target}' ({value})")
    try:
        return ep.load()
    except Exception as exc:
        raise ConfigError(
            f"device '{target}': loading entry point {value} failed: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())}"
        ) from None


def create_device(spec: str):
    """Instantiate the device a spec describes (see the module docstring)."""
    from hvmm.devices.base import Device

    target, options = parse_device_spec(spec)
    factory = resolve_device(target)
    label = f"'{target}'"
    if not callable(factory):
        raise ConfigError(f"device {label}: {factory!r} is not a class")
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(**options)
        except TypeError as exc:
            accepted = [
                p.name
                for p in sig.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            hint = f" (options: {', '.join(accepted)})" if accepted else " (it takes no options)"
            raise ConfigError(f"device {label}: {exc}{hint}") from None
    try:
        device = factory(**options)
    except ConfigError as exc:
        raise ConfigError(f"device {label}: {exc}") from None
    except Exception as exc:
        raise ConfigError(
            f"device {label}: {type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None
    if not isinstance(device, Device):
        raise ConfigError(
            f"device {label}: {type(device).__name__} is not an hvmm device "
            "(subclass hvmm.devices.PortDevice or MmioDevice)"
        )
    if not device.name:
        device.name = target if ":" not in target else type(device).__name__
    return device
