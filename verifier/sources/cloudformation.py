"""Render a CloudFormation role's ``AssumeRolePolicyDocument`` the way a stack deployment will.

Intrinsics over what the template itself decides are evaluated: ``Ref`` and ``Fn::Sub`` of parameters,
``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap`` (``Mappings``), ``Fn::If`` with the template's
``Conditions`` (``Fn::Equals``, ``Fn::And``, ``Fn::Or``, ``Fn::Not``, ``Condition``), ``AWS::NoValue``, and
``Fn::GetAtt``/``Ref`` of an ``AWS::IAM::OIDCProvider`` (its URL). A parameter takes every value the template
allows: each of its ``AllowedValues``, else its ``Default``; one with neither stays a ``${Name}`` template. A
condition that depends on such an open parameter renders both branches. The result is every rendering
(:func:`render_role`); the check lets the worst decide. Intrinsics it does not evaluate (``Fn::Base64``,
``Fn::Cidr``, ``Fn::Transform``…) are marked unsupported, never guessed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from verifier.models.trust import UNSUPPORTED_MARK
from verifier.sources.hcl_eval import MAX_RENDERINGS, Choice, expand_choices

_OIDC_TYPES = ("AWS::IAM::OIDCProvider", "Custom::AWSCDKOpenIdConnectProvider")
MAX_DEPTH = 48


class CloudFormationError(ValueError):
    """The template is malformed where the role's trust policy needs it (message says where)."""


class _NoValue:
    """``Ref: AWS::NoValue``: the property is removed."""


_NO_VALUE = _NoValue()


class _Open:
    """A value the template does not decide (a parameter without default or allowed values)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _parameters(tpl: Mapping[str, Any]) -> dict[str, list[str] | None]:
    """Parameter → every value the template allows (None: not decided by the template)."""
    out: dict[str, list[str] | None] = {}
    params = tpl.get("Parameters") or {}
    if not isinstance(params, Mapping):
        raise CloudFormationError("Parameters is not a mapping")
    for name, spec in params.items():
        if not isinstance(spec, Mapping):
            out[str(name)] = None
            continue
        allowed = spec.get("AllowedValues")
        if (
            isinstance(allowed, list)
            and allowed
            and all(isinstance(v, str | int | float | bool) for v in allowed)
        ):
            out[str(name)] = [_scalar(v) for v in allowed]
        elif "Default" in spec and isinstance(spec["Default"], str | int | float | bool):
            out[str(name)] = [_scalar(spec["Default"])]
        else:
            out[str(name)] = None
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _referenced(node: Any, found: set[str], tpl: Mapping[str, Any], depth: int = 0) -> None:
    """Parameter names a node refers to, through ``Fn::If`` conditions too."""
    if depth > MAX_DEPTH:
        raise CloudFormationError(f"the policy nests deeper than {MAX_DEPTH} levels")
    if isinstance(node, list):
        for item in node:
            _referenced(item, found, tpl, depth + 1)
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    found.update(re.findall(r"\$\{([A-Za-z0-9_:.]+)\}", text))
                _referenced(value, found, tpl, depth + 1)
            elif key in ("Fn::If", "Condition"):
                name = value[0] if key == "Fn::If" and isinstance(value, list) and value else value
                conditions = tpl.get("Conditions") or {}
                if isinstance(name, str) and isinstance(conditions, Mapping) and name not in found:
                    found.add(name)
                    _referenced(conditions.get(name), found, tpl, depth + 1)
                _referenced(value, found, tpl, depth + 1)
            else:
                _referenced(value, found, tpl, depth + 1)


class _Renderer:
    def __init__(self, tpl: Mapping[str, Any], values: Mapping[str, str | None]) -> None:
        self.tpl = tpl
        self.values = values
        resources = tpl.get("Resources") or {}
        self.providers = {
            str(k): str((r.get("Properties") or {}).get("Url", ""))
            for k, r in resources.items()
            if isinstance(r, Mapping)
            and r.get("Type") in _OIDC_TYPES
            and isinstance(r.get("Properties"), Mapping)
            and isinstance(r["Properties"].get("Url"), str)
        }
        self.resources = set(resources) if isinstance(resources, Mapping) else set()

    def render(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise CloudFormationError(f"the policy nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, list):
            out = [self.render(x, depth + 1) for x in node]
            return [x for x in out if x is not _NO_VALUE]
        if isinstance(node, Mapping):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref" or str(key).startswith("Fn::"):
                    return self.intrinsic(str(key), arg, depth)
            out_map = {str(k): self.render(v, depth + 1) for k, v in node.items()}
            return {k: v for k, v in out_map.items() if v is not _NO_VALUE}
        return node

    def text(self, value: Any) -> str:
        if isinstance(value, _Open):
            return "${" + value.text + "}"
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return "${" + UNSUPPORTED_MARK + " a non-string value}"

    def intrinsic(self, fn: str, arg: Any, depth: int) -> Any:
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::Sub":
            return self.sub(arg, depth)
        if fn == "Fn::Join":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
                raise CloudFormationError(f"Fn::Join needs [separator, list], not {arg!r}"[:120])
            items = self.render(arg[1], depth + 1)
            if isinstance(items, list):
                return arg[0].join(self.text(i) for i in items)
            return "${" + UNSUPPORTED_MARK + " Fn::Join over a value that is not a list}"
        if fn == "Fn::Select":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise CloudFormationError("Fn::Select needs [index, list]")
            index, items = self.render(arg[0], depth + 1), self.render(arg[1], depth + 1)
            if isinstance(index, str | int) and str(index).isdigit() and isinstance(items, list):
                if int(index) >= len(items):
                    raise CloudFormationError(f"Fn::Select index {index} is out of range")
                return items[int(index)]
            return "${" + UNSUPPORTED_MARK + " Fn::Select over values not known}"
        if fn == "Fn::Split":
            if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
                raise CloudFormationError("Fn::Split needs [separator, string]")
            source = self.render(arg[1], depth + 1)
            if isinstance(source, str) and "${" not in source:
                return source.split(arg[0])
            return "${" + UNSUPPORTED_MARK + " Fn::Split of a value not known}"
        if fn == "Fn::FindInMap":
            return self.find_in_map(arg, depth)
        if fn == "Fn::If":
            if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
                raise CloudFormationError("Fn::If needs [condition, value-if-true, value-if-false]")
            decided = self.condition(arg[0], depth)
            if decided is None:
                return Choice(
                    f"Condition {arg[0]}",
                    [self.render(arg[1], depth + 1), self.render(arg[2], depth + 1)],
                )
            return self.render(arg[1] if decided else arg[2], depth + 1)
        if fn == "Fn::GetAtt":
            target = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(target, list) and target and str(target[0]) in self.providers:
                return self.provider_arn(str(target[0]))
            return (
                "${"
                + ".".join(str(t) for t in (target if isinstance(target, list) else [target]))
                + "}"
            )
        if fn in ("Fn::ImportValue", "Fn::GetAZs"):
            # Known only when the stack is deployed: a template value.
            return "${" + fn + "}"
        return "${" + UNSUPPORTED_MARK + " " + fn + "}"

    def provider_arn(self, name: str) -> str:
        url = re.sub(r"^https?://", "", self.providers[name])
        return f"arn:aws:iam::${{AWS::AccountId}}:oidc-provider/{url}"

    def ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise CloudFormationError(f"Ref of a non-string {name!r}"[:120])
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.providers:
            return self.provider_arn(name)
        if name in self.values:
            value = self.values[name]
            return value if value is not None else _Open(name)
        return "${" + name + "}"

    def sub(self, arg: Any, depth: int) -> str:
        if isinstance(arg, list) and arg and isinstance(arg[0], str):
            text = arg[0]
            extra = arg[1] if len(arg) > 1 and isinstance(arg[1], Mapping) else {}
        elif isinstance(arg, str):
            text, extra = arg, {}
        else:
            raise CloudFormationError("Fn::Sub needs a string or [string, variables]")

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return self.text(self.render(extra[name], depth + 1))
            if name in self.values:
                return self.text(self.ref(name))
            if name in self.providers:
                return self.provider_arn(name)
            base = name.split(".", 1)[0]
            if base in self.providers and name.endswith(".Arn"):
                return self.provider_arn(base)
            return m.group(0)

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def find_in_map(self, arg: Any, depth: int) -> Any:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise CloudFormationError("Fn::FindInMap needs [map, top-level key, second-level key]")
        keys = [self.render(k, depth + 1) for k in arg[:3]]
        if not all(isinstance(k, str) and "${" not in k for k in keys):
            return "${" + UNSUPPORTED_MARK + " Fn::FindInMap with keys not known}"
        mappings = self.tpl.get("Mappings") or {}
        try:
            return self.render(mappings[keys[0]][keys[1]][keys[2]], depth + 1)
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
                return self.render(arg[3]["DefaultValue"], depth + 1)
            raise CloudFormationError(
                f"Fn::FindInMap {keys[0]}/{keys[1]}/{keys[2]} is not in Mappings"
            ) from None

    def condition(self, name: str, depth: int) -> bool | None:
        conditions = self.tpl.get("Conditions") or {}
        if not isinstance(conditions, Mapping) or name not in conditions:
            raise CloudFormationError(f"condition {name!r} is not defined in Conditions")
        return self.truth(conditions[name], depth + 1)

    def truth(self, node: Any, depth: int) -> bool | None:
        """A condition's value; None when it depends on something the template does not decide."""
        if depth > MAX_DEPTH:
            raise CloudFormationError(f"conditions nest deeper than {MAX_DEPTH} levels")
        if isinstance(node, bool):
            return node
        if not (isinstance(node, Mapping) and len(node) == 1):
            raise CloudFormationError(f"not a condition: {node!r}"[:120])
        ((fn, arg),) = node.items()
        if fn == "Condition" and isinstance(arg, str):
            return self.condition(arg, depth)
        if fn == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            left, right = (self.render(a, depth + 1) for a in arg)
            if isinstance(left, _Open | Choice) or isinstance(right, _Open | Choice):
                return None
            left_text, right_text = self.text(left), self.text(right)
            if "${" in left_text or "${" in right_text:
                return None
            return left_text == right_text
        if fn == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
            value = self.truth(arg[0], depth + 1)
            return None if value is None else not value
        if fn in ("Fn::And", "Fn::Or") and isinstance(arg, list) and arg:
            values = [self.truth(a, depth + 1) for a in arg]
            if fn == "Fn::And":
                return False if False in values else (None if None in values else True)
            return True if True in values else (None if None in values else False)
        raise CloudFormationError(f"condition function {fn!r} is not one CloudFormation defines")


def _finish(node: Any) -> Any:
    if isinstance(node, _Open):
        return "${" + node.text + "}"
    if isinstance(node, list):
        return [_finish(x) for x in node]
    if isinstance(node, Mapping):
        return {k: _finish(v) for k, v in node.items()}
    if isinstance(node, Choice):
        return Choice(node.label, [_finish(o) for o in node.options], node.names)
    return node


def render_role(tpl: Mapping[str, Any], document: Any) -> tuple[list[tuple[str, Any]], list[str]]:
    """Every rendering of one role's trust document: ([(label, document)], notes).

    Labels name the parameter values and condition branches of the rendering (empty when there is one).
    """
    allowed = _parameters(tpl)
    used: set[str] = set()
    _referenced(document, used, tpl)
    names = sorted(n for n in used if n in allowed)
    notes = []
    choices: list[list[str | None]] = []
    for name in names:
        options = allowed[name]
        spec = (tpl.get("Parameters") or {}).get(name) or {}
        if options is not None and "AllowedValues" not in spec:
            notes.append(
                f"parameter {name} rendered with the template's parameter default {options[0]!r} (a deployment may "
                "override it)"
            )
        choices.append(list(options) if options is not None else [None])
    renderings: list[tuple[str, Any]] = []
    combos = list(itertools.islice(itertools.product(*choices), MAX_RENDERINGS + 1))
    if len(combos) > MAX_RENDERINGS:
        notes.append(
            f"the parameters' allowed values give more than {MAX_RENDERINGS} renderings; the rest "
            "are not evaluated"
        )
        combos = combos[:MAX_RENDERINGS]
    for combo in combos:
        values: dict[str, str | None] = {
            name: None for name, spec in allowed.items() if spec is None
        }
        values.update(dict(zip(names, combo, strict=True)))
        rendered = _finish(_Renderer(tpl, values).render(document))
        parts = [
            f"{n}={v!r}"
            for n, v in zip(names, combo, strict=True)
            if v is not None and "AllowedValues" in ((tpl.get("Parameters") or {}).get(n) or {})
        ]
        for label, variant in expand_choices(rendered):
            renderings.append((", ".join(p for p in [*parts, label] if p), variant))
    if len(renderings) > MAX_RENDERINGS:
        renderings = renderings[:MAX_RENDERINGS]
    return renderings, notes


__all__ = ["CloudFormationError", "render_role"]
