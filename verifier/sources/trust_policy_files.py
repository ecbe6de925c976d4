"""Read cloud OIDC trust configurations from files and directories (all I/O of ``oidc-trust``).

Accepted inputs, detected from the content (never from the file name alone):

* AWS: a raw IAM policy document, ``aws iam get-role`` / ``list-roles`` output (the document may be
  URL-encoded), CloudFormation templates (YAML with short tags, or JSON) with ``AWS::IAM::Role``
  resources, Terraform HCL (``aws_iam_role.assume_role_policy`` as ``jsonencode(...)``, heredoc,
  ``data.aws_iam_policy_document.X.json``, ``file()``/``templatefile()``; ``aws_iam_policy_document``
  data sources; local ``module`` calls rendered with the caller's arguments) and Terraform plan JSON.
* GCP: ``{issuer_uri, attribute_mapping, attribute_condition, bindings}``, ``gcloud iam
  workload-identity-pools providers describe`` output (camelCase, JSON or YAML), Terraform
  ``google_iam_workload_identity_pool_provider`` (+ ``google_service_account_iam_member/binding``).
* Azure: Graph API / ``az`` federated identity credentials (``issuer``, ``subject``, ``audiences`` or
  ``claimsMatchingExpression``), a ``{"value": [...]}`` list, Terraform ``azuread_application_(flexible_)
  federated_identity_credential`` / ``azurerm_federated_identity_credential``.

Every problem raises :class:`~verifier.errors.InputError` naming the file.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import sys
import textwrap
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from verifier.errors import InputError
from verifier.models.trust import UNSUPPORTED_MARK, Provider, Rendering, TrustConfig
from verifier.sources.files import MIB, parse_json, read_text, walk

if TYPE_CHECKING:
    from verifier.sources.hcl_eval import Scope

# The Terraform evaluator and the CloudFormation renderer are imported when a file needs them: a run over
# plain JSON documents does not pay for them.

# A trust policy is at most a few KiB (IAM caps it at 4,096 characters); Terraform plans are larger.
DEFAULT_MAX_BYTES = 8 * MIB
_EXTENSIONS = (
    ".json",
    ".yaml",
    ".yml",
    ".template",
    ".tf",
    ".tpl",
    ".tftpl",
    ".bicep",
)  # .tf.json ends in .json
# A file found under a directory is read only if it mentions one of these (an IAM trust document, a
# CloudFormation/Terraform role, a GCP provider, a GitHub issuer). Files named explicitly are always read.
_MARKERS = re.compile(
    r"AssumeRolePolicyDocument|assume_role_policy|aws_iam_policy_document|AssumeRoleWith|"
    r"attribute_condition|attributeCondition|issuer_uri|issuerUri|federated_identity|"
    r"claimsMatchingExpression|token\.actions\.githubusercontent\.com|/_services/token|"
    r"federatedIdentityCredentials"
)
# A Terraform file that calls a module is read too: the call renders its child module.
_MODULE_CALL = re.compile(r'\bmodule\s+"|"module"\s*:')
_ADMIN_ARN = re.compile(
    r"arn:(?:\$\{[^}]*\}|[^:\"'])*:iam::aws:policy/"
    r"(AdministratorAccess|PowerUserAccess|IAMFullAccess)\b"
)
_SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv"}


def load_configs(
    paths: Sequence[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    skipped: list[str] | None = None,
) -> list[TrustConfig]:
    """All trust configurations in ``paths`` (files, or directories walked in sorted order).

    A file named explicitly must hold at least one configuration; under a directory, files without
    any trust marker are skipped, and a directory with none at all is an error. Terraform blocks and
    module calls that create nothing (``count`` 0, ``for_each`` empty) are not configurations: a notice
    for each goes to ``skipped`` (a file or directory with only those is not an error).
    """
    configs: list[TrustConfig] = []
    modules: dict[str, _Module] = {}
    loads = _Loads()
    deferred: list[tuple[str, InputError]] = []
    for given in paths:
        if os.path.isdir(given):
            skipped_before = len(loads.skipped)
            files = list(_walk(given))
            per_file: dict[str, list[TrustConfig]] = {}
            # Terraform first: a template file some module renders (templatefile) is judged through it.
            for file in sorted(files, key=lambda f: not f.endswith((".tf", ".tf.json"))):
                if os.path.realpath(file) in loads.rendered:
                    continue
                module = modules.get(os.path.dirname(file) or ".")
                cached = module.cached_text(file) if module is not None else None
                text = cached if cached is not None else read_text(file, max_bytes)
                if not _MARKERS.search(text) and not (
                    file.endswith((".tf", ".tf.json")) and _MODULE_CALL.search(text)
                ):
                    continue
                try:
                    per_file[file] = _load_file(
                        file, text, max_bytes, explicit=False, modules=modules, loads=loads
                    )
                    if (
                        not per_file[file]
                        and not file.endswith((".tf", ".tf.json"))
                        and _GITHUB_ISSUER.search(text)
                        and _TRUST_SHAPED.search(text)
                    ):
                        per_file[file] = [_unread_shape(file, text)]
                except InputError as exc:
                    if not file.endswith((".tf", ".tf.json")):
                        raise
                    # A module rendered on its own (open variables); decided below, once every caller
                    # of the walk is known.
                    deferred.append((file, exc))
            found = 0
            for file in files:
                found += len(per_file.get(file, ()))
                configs.extend(per_file.get(file, ()))
            if not found and not deferred and len(loads.skipped) == skipped_before:
                raise InputError(given, "no trust configuration found in this directory")
        else:
            configs.extend(
                _load_file(
                    given,
                    read_text(given, max_bytes),
                    max_bytes,
                    explicit=True,
                    modules=modules,
                    loads=loads,
                )
            )
    for file, error in deferred:
        if os.path.realpath(os.path.dirname(file) or ".") not in loads.called:
            raise error
    if not configs and deferred and not loads.skipped:
        raise InputError(paths[0], "no trust configuration found")
    if loads.called or loads.rendered:
        # A module some caller in the input renders is judged as called (the caller's arguments), not
        # with its own variable defaults: those are not what the caller deploys. Likewise a template file
        # that templatefile() renders is judged through the role that renders it.
        configs = [c for c in configs if not _rendered_by_a_caller(c, loads)]
    if skipped is not None:
        skipped.extend(
            dict.fromkeys(
                text for text, own in loads.skipped if own is None or own not in loads.called
            )
        )
    return configs


_GITHUB_ISSUER = re.compile(r"token\.actions\.githubusercontent\.com|/_services/token")
# What an AWS trust policy of any format carries besides the issuer (a file that only mentions the issuer,
# e.g. in prose or test metadata, is not one; GCP and Azure terms are too common in such files to tell).
_TRUST_SHAPED = re.compile(
    r"AssumeRoleWithWebIdentity|assume_?role_?policy|githubusercontent\.com:sub\b", re.IGNORECASE
)


def _unread_shape(path: str, text: str) -> TrustConfig:
    """A walked file that names GitHub's OIDC issuer and carries trust-policy terms but holds no
    configuration this reader knows (a Pulumi program, a Crossplane Role, …): what it trusts is not seen,
    so it is reported, never dropped."""
    what = (
        "this file names the GitHub Actions OIDC issuer, but its format is not one this reader renders "
        "(AWS IAM JSON, CloudFormation, Terraform, ARM, GCP or Azure credential JSON): check the trust "
        "policy it deploys in one of those, or leave the file out of the paths"
    )
    return _unsupported_role(path, text, None, what)


def _rendered_by_a_caller(config: TrustConfig, loads: _Loads) -> bool:
    if not config.path.endswith((".tf", ".tf.json")):
        return os.path.realpath(config.path) in loads.rendered
    # The file the configuration was read from: its own, or the module call's when rendered through one.
    suffix = f"#{config.name}"
    origin = config.subject[: -len(suffix)] if config.subject.endswith(suffix) else config.subject
    return os.path.realpath(os.path.dirname(origin) or ".") in loads.called


def _walk(root: str) -> Iterator[str]:
    # A directory that cannot be listed raises InputError (exit 2): its trust policies would go unchecked.
    for dirpath, dirnames, filenames in walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for name in filenames:
            if name.endswith(_EXTENSIONS):
                yield os.path.join(dirpath, name)


def _load_file(
    path: str,
    text: str,
    max_bytes: int,
    *,
    explicit: bool,
    modules: dict[str, _Module] | None = None,
    loads: _Loads | None = None,
) -> list[TrustConfig]:
    uncreated = False
    try:
        if path.endswith(".bicep"):
            items = _from_bicep(path, text)
        elif path.endswith((".tf", ".tf.json")):
            directory = os.path.dirname(path) or "."
            module = (modules if modules is not None else {}).get(directory)
            if module is None:
                module = _Module(directory, max_bytes, loads=loads)
                if modules is not None:
                    modules[directory] = module
            skipped_before = len(module.loads.skipped)
            if is_override_file(path):
                # Its blocks are judged where they are defined, merged (under a directory, there);
                # named, it stands for the configurations it changes.
                module.add(path, text)
                items = _overridden_configs(path, module, max_bytes, loads) if explicit else []
            else:
                items = _from_hcl(path, text, max_bytes, module, explicit=explicit)
            # Blocks Terraform does not create: when they are all there is, nothing to judge.
            uncreated = len(module.loads.skipped) > skipped_before
        else:
            items = [c for doc in _parse_data(path, text) for c in _from_document(path, text, doc)]
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # A document of a known kind whose inner structure is not what that kind has.
        raise InputError(path, f"unexpected structure ({type(exc).__name__}: {exc})") from None
    if not explicit:
        # Under a directory, a bare IAM document none of whose statements names a principal is a
        # permissions policy, not a trust policy: not ours to report. A role's trust field is a trust
        # policy by definition, whatever its action (`Action: "*"` included).
        items = [c for c in items if c.provider != "aws" or c.by_definition or _names_principal(c)]
    if not items and (not explicit or uncreated):
        return []
    if not items:
        raise InputError(
            path,
            "unknown provider: no AWS trust policy (Statement, AssumeRolePolicyDocument), "
            "GCP workload identity provider (issuer_uri, attribute_condition) or Azure federated "
            "credential (issuer, subject) found",
        )
    if len(items) > 1:
        # A configuration rendered through a module call already names its caller and its own file.
        items = [
            c if c.subject != path else _with_subject(c, f"{path}#{c.name or i}", text)
            for i, c in enumerate(items)
        ]
    return items


def _names_principal(config: TrustConfig) -> bool:
    docs = [config.document, *(r.document for r in config.renderings)]
    for doc in docs:
        statements = doc.get("Statement") if isinstance(doc, Mapping) else None
        for st in statements if isinstance(statements, list) else [statements]:
            if isinstance(st, Mapping) and ("Principal" in st or "NotPrincipal" in st):
                return True
    return False


def _with_subject(config: TrustConfig, subject: str, text: str) -> TrustConfig:
    return dataclasses.replace(config, subject=subject, first_line=_first_line(text, config.name))


def _first_line(text: str, name: str | None) -> int:
    """Line where the named configuration starts (Terraform block, CloudFormation logical id)."""
    if not name:
        return 1
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "data":
        pattern = (
            rf'data\s+"{re.escape(parts[1])}"\s+"{re.escape(parts[2])}"' if len(parts) > 2 else None
        )
    elif len(parts) == 2:
        pattern = rf'resource\s+"{re.escape(parts[0])}"\s+"{re.escape(parts[1])}"'
    else:
        pattern = rf'^\s*"?{re.escape(name)}"?\s*:'
    if pattern:
        m = re.search(pattern, text, re.MULTILINE)
        if m:
            return text.count("\n", 0, m.start()) + 1
    return 1


def _parse_data(path: str, text: str) -> list[Any]:
    """The documents of a file: one for JSON, every ``---`` document for YAML (empty ones dropped)."""
    stripped = text.lstrip()
    if path.endswith((".json", ".tpl", ".tftpl")) or stripped.startswith(("{", "[")):
        return [parse_json(text, path)]
    import yaml

    try:
        docs = list(yaml.load_all(text, Loader=_cfn_loader()))  # noqa: S506 - SafeLoader subclass, CFN tags
        return [d for d in docs if d is not None] or [None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(path, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except RecursionError:
        raise InputError(path, "YAML is nested too deeply") from None


@functools.cache
def _cfn_loader() -> type[Any]:
    """SafeLoader that turns CloudFormation short tags (``!Ref``, ``!Sub``...) into their long form.

    Built on first use: PyYAML is only imported when a YAML file is read.
    """
    import yaml

    def cfn_tag(loader: Any, suffix: str, node: Any) -> Any:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    class CfnLoader(yaml.SafeLoader):
        pass

    CfnLoader.add_multi_constructor("!", cfn_tag)
    return CfnLoader


# --- JSON / YAML documents ---------------------------------------------------------------------------


def _from_document(path: str, text: str, data: Any) -> list[TrustConfig]:
    if isinstance(data, list):
        if data and all(isinstance(x, Mapping) and (_is_azure(x) or _is_gcp(x)) for x in data):
            return [c for x in data for c in _from_document(path, text, x)]
        raise InputError(path, "top-level JSON is a list, not a trust policy object")
    if not isinstance(data, Mapping):
        raise InputError(
            path, f"top-level value is a {type(data).__name__}, not a trust policy object"
        )
    if "Statement" in data:
        return [_aws(path, text, data)]
    if isinstance(data.get("Role"), Mapping):
        return [_aws_role(path, text, data["Role"])]
    if isinstance(data.get("Roles"), list):
        return [_aws_role(path, text, r) for r in data["Roles"] if isinstance(r, Mapping)]
    if isinstance(data.get("RoleDetailList"), list):  # aws iam get-account-authorization-details
        return [_aws_role(path, text, r) for r in data["RoleDetailList"] if isinstance(r, Mapping)]
    if "AssumeRolePolicyDocument" in data:
        return [_aws_role(path, text, data)]
    if isinstance(data.get("Resources"), Mapping):
        return _from_cloudformation(path, text, data)
    if "format_version" in data and ("planned_values" in data or "resource_changes" in data):
        return _from_plan(path, text, data)
    if "resources" in data and "deploymentTemplate" in str(data.get("$schema", "")):
        return _from_arm(path, text, data["resources"])
    if _is_gcp(data):
        return [
            TrustConfig(
                provider="gcp",
                subject=path,
                path=path,
                document=data,
                text=text,
                name=_str(data.get("name") or data.get("displayName")),
            )
        ]
    if _is_azure(data):
        return [
            TrustConfig(
                provider="azure",
                subject=path,
                path=path,
                document=data,
                text=text,
                name=_str(data.get("name")),
            )
        ]
    if isinstance(data.get("value"), list):
        return [
            c
            for x in data["value"]
            if isinstance(x, Mapping)
            for c in _from_document(path, text, x)
        ]
    return []


MAX_ARM_DEPTH = 16


def _from_arm(path: str, text: str, resources: Any, depth: int = 0) -> list[TrustConfig]:
    """Federated identity credentials of an ARM deployment template (what ``az bicep build`` writes), child
    resources included. An ARM expression (``[parameters('x')]``) is not evaluated: it is unsupported."""
    if depth > MAX_ARM_DEPTH:
        raise InputError(path, "ARM template resources nest too deeply")
    items = resources.values() if isinstance(resources, Mapping) else resources
    configs: list[TrustConfig] = []
    for res in items if isinstance(items, (list, type({}.values()))) else []:
        if not isinstance(res, Mapping):
            continue
        kind = str(res.get("type", ""))
        if kind.lower().endswith("/federatedidentitycredentials") and isinstance(
            res.get("properties"), Mapping
        ):
            doc = {k: _arm_value(v) for k, v in res["properties"].items()}
            configs.append(
                TrustConfig(
                    provider="azure",
                    subject=f"{path}#{res.get('name', kind)}",
                    path=path,
                    document=doc,
                    text=text,
                    name=_str(res.get("name")),
                )
            )
        configs += _from_arm(path, text, res.get("resources") or [], depth + 1)
    return configs


def _arm_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("[") and not value.startswith("[["):
        what = f"{UNSUPPORTED_MARK} ARM expression {value}".translate(_NO_BRACES)
        return "${" + what + "}"
    if isinstance(value, list):
        return [_arm_value(v) for v in value]
    return value


def _from_bicep(path: str, text: str) -> list[TrustConfig]:
    """Bicep is not read: a file that declares federated identity credentials is one unsupported
    configuration naming how to check it (its compiled ARM JSON is read)."""
    if "federatedIdentityCredentials" not in text:
        return []
    what = (
        f"{UNSUPPORTED_MARK} Bicep is not read: check the ARM JSON of `az bicep build --file "
        f"{os.path.basename(path)}`"
    ).translate(_NO_BRACES)
    # Judged as a GitHub credential whose subject is not known: what it admits cannot be told from here.
    doc = {"issuer": "https://token.actions.githubusercontent.com", "subject": "${" + what + "}"}
    return [TrustConfig(provider="azure", subject=path, path=path, document=doc, text=text)]


def _is_gcp(d: Mapping[str, Any]) -> bool:
    return any(
        k in d
        for k in (
            "issuer_uri",
            "attribute_condition",
            "attributeCondition",
            "attribute_mapping",
            "attributeMapping",
        )
    ) or (isinstance(d.get("oidc"), Mapping) and "issuerUri" in d["oidc"])


def _is_azure(d: Mapping[str, Any]) -> bool:
    # A credential without subject is still one (the check reports it as invalid, never skips it).
    return "issuer" in d and any(
        k in d
        for k in (
            "subject",
            "claimsMatchingExpression",
            "claims_matching_expression",
            "audiences",
            "audience",
        )
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _aws(
    path: str,
    text: str,
    doc: Any,
    *,
    name: str | None = None,
    params: Mapping[str, str] | None = None,
    providers: Mapping[str, str] | None = None,
    admin: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    error: str | None = None,
    trust: bool = False,
    renderings: tuple[Rendering, ...] = (),
) -> TrustConfig:
    """An AWS trust configuration; ``trust``: read from a field that holds a trust policy by definition
    (``AssumeRolePolicyDocument``, ``assume_role_policy``), whatever its action text says."""
    if isinstance(doc, str):
        raw = urllib.parse.unquote(doc) if doc.lstrip().startswith("%7B") else doc
        doc = parse_json(raw, f"{path} (policy document of {name or 'the role'})")
    if not renderings:
        doc, renderings = _renderings(doc)
    if not isinstance(doc, Mapping):
        raise InputError(
            path, f"trust policy of {name or 'the role'} is a {type(doc).__name__}, not an object"
        )
    return TrustConfig(
        provider="aws",
        subject=path,
        path=path,
        document=doc,
        name=name,
        text=text,
        parameters=params or {},
        oidc_providers=providers or {},
        admin_permissions=admin,
        notes=notes,
        error=error,
        by_definition=trust,
        renderings=renderings,
    )


def _aws_role(path: str, text: str, role: Mapping[str, Any]) -> TrustConfig:
    if "AssumeRolePolicyDocument" not in role:
        raise InputError(
            path, f"role {role.get('RoleName', '?')!r} has no AssumeRolePolicyDocument"
        )
    attached = json.dumps([role.get("AttachedPolicies"), role.get("AttachedManagedPolicies")])
    found = {m.group(1) for m in _ADMIN_ARN.finditer(attached)}
    for pol in role.get("RolePolicyList") or []:
        doc = pol.get("PolicyDocument") if isinstance(pol, Mapping) else None
        if isinstance(doc, str):
            doc = parse_json(
                urllib.parse.unquote(doc), f"{path} (inline policy of {role.get('RoleName', '?')})"
            )
        if _star_star(doc):
            found.add("inline policy Action '*' on Resource '*'")
    admin = tuple(sorted(found))
    return _aws(
        path,
        text,
        role["AssumeRolePolicyDocument"],
        name=_str(role.get("RoleName")) or _str(role.get("Arn")),
        admin=admin,
        trust=True,
    )


def _from_cloudformation(path: str, text: str, tpl: Mapping[str, Any]) -> list[TrustConfig]:
    """Every ``AWS::IAM::Role`` of a template, its trust document rendered as a deployment renders it
    (:mod:`verifier.sources.cloudformation`): each allowed parameter value and undecided condition."""
    configs: list[TrustConfig] = []
    resources, loops = _expand_for_each(tpl["Resources"])
    tpl = {**tpl, "Resources": resources}
    macros = [t for t in _transforms(tpl) if t not in _MODELLED_TRANSFORMS]
    configs += [
        _unsupported_role(path, text, loop, f"{loop}: {_FOR_EACH_UNSUPPORTED}") for loop in loops
    ]
    for logical_id, res in resources.items():
        if not isinstance(res, Mapping) or res.get("Type") != "AWS::IAM::Role":
            continue
        if macros:
            what = (
                f"the template's Transform {', '.join(macros)} (a macro) may rewrite it before "
                "deployment; what it deploys is not modelled"
            )
            configs.append(_unsupported_role(path, text, str(logical_id), what))
            continue
        props = res.get("Properties")
        if not isinstance(props, Mapping) or "AssumeRolePolicyDocument" not in props:
            raise InputError(
                path, f"resource {logical_id}: AWS::IAM::Role without AssumeRolePolicyDocument"
            )
        from verifier.sources.cloudformation import CloudFormationError, render_role

        try:
            rendered, notes = render_role(tpl, props["AssumeRolePolicyDocument"])
        except CloudFormationError as exc:
            raise InputError(path, f"resource {logical_id}: {exc}") from None
        admin = _cfn_admin(props, resources, str(logical_id))
        renderings = (
            tuple(Rendering(label, doc) for label, doc in rendered) if len(rendered) > 1 else ()
        )
        configs.append(
            _aws(
                path,
                text,
                rendered[0][1],
                name=str(logical_id),
                admin=admin,
                notes=tuple(notes),
                trust=True,
                renderings=renderings,
            )
        )
    return configs


# Transforms whose output keeps the template's AWS::IAM::Role resources as written: SAM adds its own
# resources (function roles trusted by lambda.amazonaws.com), language extensions are expanded here.
_MODELLED_TRANSFORMS = frozenset({"AWS::Serverless-2016-10-31", "AWS::LanguageExtensions"})
_FOR_EACH_UNSUPPORTED = "Fn::ForEach over a collection that is not a list of literal strings is not expanded by this reader"
MAX_FOR_EACH_DEPTH = 5  # CloudFormation's own nesting limit
MAX_FOR_EACH_RESOURCES = 2000


def _transforms(tpl: Mapping[str, Any]) -> list[str]:
    value = tpl.get("Transform")
    items = value if isinstance(value, list) else [value] if value is not None else []
    # A Transform given as {"Name": …, "Parameters": …} (AWS::Include) names itself.
    return [str(t.get("Name") if isinstance(t, Mapping) else t) for t in items]


def _expand_for_each(resources: Any, depth: int = 0) -> tuple[dict[str, Any], list[str]]:
    """``Resources`` with every ``Fn::ForEach::Name: [Identifier, [literal, …], {OutputKey: value}]``
    (AWS::LanguageExtensions) expanded as CloudFormation expands it — ``${Identifier}`` / ``&{Identifier}``
    in keys and strings, ``{"Ref": Identifier}`` in values —, and the loops that could not be expanded."""
    if not isinstance(resources, Mapping):
        return {}, []
    out: dict[str, Any] = {}
    skipped: list[str] = []
    for key, value in resources.items():
        key = str(key)
        if not key.startswith("Fn::ForEach::"):
            out[key] = value
            continue
        ok = (
            depth < MAX_FOR_EACH_DEPTH
            and isinstance(value, list)
            and len(value) == 3
            and isinstance(value[0], str)
            and isinstance(value[1], list)
            and all(isinstance(v, str) for v in value[1])
            and isinstance(value[2], Mapping)
        )
        if not ok:
            skipped.append(key)
            continue
        identifier, items, template = value
        for item in items:
            expanded, inner = _expand_for_each(_substitute(template, identifier, item), depth + 1)
            out.update(expanded)
            skipped += inner
            if len(out) > MAX_FOR_EACH_RESOURCES:
                raise ValueError(
                    f"Fn::ForEach expands to more than {MAX_FOR_EACH_RESOURCES} resources"
                )
    return out, skipped


def _substitute(node: Any, identifier: str, item: str, depth: int = 0) -> Any:
    if depth > 64:
        raise ValueError("Fn::ForEach template nested too deeply")
    alnum = re.sub(r"[^A-Za-z0-9]", "", item)

    def text(value: str) -> str:
        return value.replace("${" + identifier + "}", item).replace("&{" + identifier + "}", alnum)

    if isinstance(node, str):
        return text(node)
    if isinstance(node, list):
        return [_substitute(v, identifier, item, depth + 1) for v in node]
    if isinstance(node, Mapping):
        if len(node) == 1 and node.get("Ref") == identifier:
            return item
        return {text(str(k)): _substitute(v, identifier, item, depth + 1) for k, v in node.items()}
    return node


def _unsupported_role(path: str, text: str, name: str | None, what: str) -> TrustConfig:
    """A role this reader cannot render: judged ``unsupported`` (denied by default), naming why."""
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {
                    "Federated": "${" + f"{UNSUPPORTED_MARK} {what}".translate(_NO_BRACES) + "}"
                },
            }
        ]
    }
    return _aws(path, text, doc, name=name, trust=True)


def _cfn_admin(
    props: Mapping[str, Any], resources: Mapping[str, Any], logical_id: str
) -> tuple[str, ...]:
    found = {
        m.group(1) for m in _ADMIN_ARN.finditer(json.dumps(props.get("ManagedPolicyArns", [])))
    }
    for pol in props.get("Policies") or []:
        if isinstance(pol, Mapping) and _star_star(pol.get("PolicyDocument")):
            found.add("inline policy Action '*' on Resource '*'")
    for res in resources.values():
        if (
            isinstance(res, Mapping)
            and res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
            and logical_id in json.dumps(res.get("Properties", {}).get("Roles", []))
            and _star_star(res.get("Properties", {}).get("PolicyDocument"))
        ):
            found.add("attached policy Action '*' on Resource '*'")
    return tuple(sorted(found))


def _star_star(doc: Any) -> bool:
    if not isinstance(doc, Mapping):
        return False
    stmts = doc.get("Statement")
    for st in stmts if isinstance(stmts, list) else [stmts]:
        if (
            isinstance(st, Mapping)
            and st.get("Effect") == "Allow"
            and "*" in _as_list(st.get("Action"))
            and "*" in _as_list(st.get("Resource"))
        ):
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


# --- Terraform plan JSON -----------------------------------------------------------------------------


def _from_plan(path: str, text: str, plan: Mapping[str, Any]) -> list[TrustConfig]:
    unknown: dict[str, Any] = {}
    for change in plan.get("resource_changes") or []:
        if isinstance(change, Mapping) and isinstance(change.get("change"), Mapping):
            unknown[str(change.get("address"))] = change["change"].get("after_unknown") or {}
    resources = list(_plan_resources((plan.get("planned_values") or {}).get("root_module") or {}))
    documents = _plan_documents(plan)
    configs: list[TrustConfig] = []
    admin_by_role: dict[str, set[str]] = {}
    for res in resources:
        values = res.get("values") or {}
        if res.get("type") == "aws_iam_role_policy_attachment":
            m = _ADMIN_ARN.search(str(values.get("policy_arn", "")))
            if m:
                admin_by_role.setdefault(str(values.get("role")), set()).add(m.group(1))
    for res in resources:
        rtype, address, values = res.get("type"), str(res.get("address")), res.get("values") or {}
        if rtype == "aws_iam_role":
            policy = values.get("assume_role_policy")
            if not policy:
                # Fed by a data.aws_iam_policy_document whose rendered JSON the plan holds.
                source = _plan_role_document(plan, address, documents)
                if source is not None:
                    policy = documents[source]
            admin = {
                m.group(1)
                for m in _ADMIN_ARN.finditer(json.dumps(values.get("managed_policy_arns") or []))
            }
            admin |= admin_by_role.get(str(values.get("name")), set())
            if not policy and unknown.get(address, {}).get("assume_role_policy"):
                policy = {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Principal": {"Federated": "${known after apply}"},
                        }
                    ]
                }
                configs.append(
                    _aws(
                        path,
                        text,
                        policy,
                        name=address,
                        admin=tuple(sorted(admin)),
                        notes=("assume_role_policy is (known after apply)",),
                        trust=True,
                    )
                )
                continue
            if policy:
                configs.append(
                    _aws(path, text, policy, name=address, admin=tuple(sorted(admin)), trust=True)
                )
        elif rtype == "google_iam_workload_identity_pool_provider":
            oidc = (values.get("oidc") or [{}])[0] or {}
            doc = {
                "issuer_uri": oidc.get("issuer_uri"),
                "attribute_mapping": values.get("attribute_mapping"),
                "attribute_condition": values.get("attribute_condition"),
            }
            configs.append(
                TrustConfig(
                    provider="gcp", subject=path, path=path, document=doc, text=text, name=address
                )
            )
        elif rtype in _AZURE_TF:
            configs.append(
                TrustConfig(
                    provider="azure",
                    subject=path,
                    path=path,
                    document=_azure_tf(values),
                    text=text,
                    name=address,
                )
            )
    return configs


def _plan_documents(plan: Mapping[str, Any]) -> dict[str, str]:
    """``data.aws_iam_policy_document`` address → its rendered JSON, from the plan's state and values."""
    out: dict[str, str] = {}
    for section in ("prior_state", "planned_values"):
        root = plan.get(section)
        if isinstance(root, Mapping) and section == "prior_state":
            root = root.get("values")
        module = root.get("root_module") if isinstance(root, Mapping) else None
        for res in _plan_resources(module if isinstance(module, Mapping) else {}):
            values = res.get("values")
            if (
                res.get("mode") == "data"
                and res.get("type") == "aws_iam_policy_document"
                and isinstance(values, Mapping)
                and isinstance(values.get("json"), str)
            ):
                out.setdefault(str(res.get("address")), values["json"])
    return out


def _plan_role_document(
    plan: Mapping[str, Any], address: str, documents: Mapping[str, str]
) -> str | None:
    """The policy document a role's ``assume_role_policy`` expression refers to, when the plan holds it."""
    parts = address.split(".")
    prefix: list[str] = []
    module: Any = (plan.get("configuration") or {}).get("root_module") or {}
    while len(parts) > 2 and parts[0] == "module" and isinstance(module, Mapping):
        name = parts[1].split("[")[0]
        prefix += parts[:2]
        module = ((module.get("module_calls") or {}).get(name) or {}).get("module") or {}
        parts = parts[2:]
    local = ".".join(parts).split("[")[0]
    for res in module.get("resources") or [] if isinstance(module, Mapping) else []:
        if not isinstance(res, Mapping) or res.get("address") != local:
            continue
        refs = (((res.get("expressions") or {}).get("assume_role_policy")) or {}).get("references")
        for ref in refs or []:
            m = re.match(r"(data\.aws_iam_policy_document\.[A-Za-z0-9_-]+)", str(ref))
            if m:
                full = ".".join([*prefix, m.group(1)])
                for candidate in (full, *(a for a in documents if a.startswith(full + "["))):
                    if candidate in documents:
                        return candidate
    return None


def _plan_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for res in module.get("resources") or []:
        if isinstance(res, Mapping):
            yield res
    for child in module.get("child_modules") or []:
        if isinstance(child, Mapping):
            yield from _plan_resources(child)


_AZURE_TF = (
    "azuread_application_federated_identity_credential",
    "azurerm_federated_identity_credential",
    "azuread_application_flexible_federated_identity_credential",
)


def _azure_tf(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "issuer": values.get("issuer"),
        "subject": values.get("subject"),
        "audiences": values.get("audiences", values.get("audience")),
        **(
            {"claims_matching_expression": values["claims_matching_expression"]}
            if values.get("claims_matching_expression") is not None
            else {}
        ),
    }


# --- Terraform HCL -----------------------------------------------------------------------------------

_TF_BLOCKS = frozenset(
    {"statement", "principals", "not_principals", "condition", "oidc", "dynamic", "content"}
)


def _terraform_load(text: str, name: str) -> dict[str, Any]:
    """A ``.tf`` file (HCL) or a ``.tf.json`` file (Terraform's JSON syntax, e.g. from CDKTF), in one shape."""
    if not name.endswith(".tf.json"):
        return _hcl_load(text, name)
    data = parse_json(text, name)
    if not isinstance(data, dict):
        raise InputError(name, "Terraform JSON must be an object")
    out: dict[str, Any] = {}
    for kind, value in data.items():
        entries = value if isinstance(value, list) else [value]
        out[kind] = [_tf_json_blocks(e) for e in entries]
    return out


def _tf_json_blocks(node: Any) -> Any:
    """Turn the JSON syntax's nested blocks (an object, or a list of objects) into lists of bodies."""
    if isinstance(node, list):
        return [_tf_json_blocks(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        value = _tf_json_blocks(value)
        if key in _TF_BLOCKS and isinstance(value, dict):
            value = [value]
        out[key] = value
    return out


def _hcl_load(text: str, name: str) -> dict[str, Any]:
    try:
        return parse_hcl(text)
    except HclError as exc:
        raise InputError(name, f"not valid Terraform HCL: {exc}") from None
    except RecursionError:
        raise InputError(name, "Terraform HCL is nested too deeply") from None


def _blocks(
    data: Mapping[str, Any],
    kind: str,
    scope: Scope | None = None,
    skipped: list[tuple[str, str, Mapping[str, Any]]] | None = None,
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every ``resource``/``data`` block, rendered against the module's ``scope``
    (variable defaults, locals, conditionals, ``dynamic`` blocks). A block whose ``count`` renders to 0 or
    whose ``for_each`` renders to an empty collection is not created and not yielded (its address and why
    and raw body go to ``skipped``); one whose count the text does not decide is read: it may exist."""
    for entry in data.get(kind) or []:
        if not isinstance(entry, Mapping):
            continue
        for rtype, named in entry.items():
            if isinstance(named, Mapping):
                for name, body in named.items():
                    if not isinstance(body, Mapping):
                        continue
                    where = f"{kind} {rtype}.{name}"
                    reason = _not_created(scope, body, where)
                    if reason is not None:
                        if skipped is not None:
                            skipped.append((f"{rtype}.{name}", reason, body))
                        continue
                    block_scope = _existing(scope, body, where)
                    instances = _instances(block_scope, body, where)
                    if instances is not None:
                        for key, instance_scope in instances:
                            rendered = _render(instance_scope, dict(body), where)
                            yield str(rtype), f'{name}["{key}"]', _hcl_strings(rendered)
                        continue
                    counted = _counted(block_scope, body, where)
                    if counted is not None:
                        # A count the module decides: one instance per index, named as plan JSON does.
                        for index, instance_scope in counted:
                            rendered = _render(instance_scope, dict(body), where)
                            yield str(rtype), f"{name}[{index}]", _hcl_strings(rendered)
                        continue
                    rendered = _render(block_scope, dict(body), where)
                    yield str(rtype), str(name), _hcl_strings(rendered)


def _not_created(scope: Scope | None, body: Mapping[str, Any], where: str) -> str | None:
    """Why Terraform creates no instance of a ``resource``/``data``/``module`` block: its ``count`` renders
    to 0 or its ``for_each`` to an empty collection, from what the text decides (literals, the caller's
    arguments, variable defaults), in every rendering. None when some instance may exist."""
    if scope is None:
        return None
    from verifier.sources.hcl_eval import Choice, HclEvalError, creates_nothing

    for meta in ("count", "for_each"):
        if meta not in body:
            continue
        try:
            value = scope.render(body[meta])
        except HclEvalError as exc:
            raise ValueError(f"{where}: {exc}") from None
        options = value.options if isinstance(value, Choice) else [value]
        if options and all(creates_nothing(o) for o in options):
            raw = body[meta]
            whole = isinstance(raw, str) and raw.startswith("${") and raw.endswith("}")
            shown = (raw[2:-1] if whole else json.dumps(raw)).strip()
            if shown in ("0", "{}", "[]"):
                return f"not created ({meta} = {shown})"
            renders = "0" if meta == "count" else "an empty collection"
            return f"not created ({meta} = {shown} renders {renders})"
    return None


def _counted(
    scope: Scope | None, body: Mapping[str, Any], where: str
) -> list[tuple[int, Scope]] | None:
    """(index, scope with ``count.index`` bound) per instance of a block whose ``count`` the module
    decides; None without ``count`` or when it is not known."""
    if scope is None or "count" not in body:
        return None
    from verifier.sources.hcl_eval import MAX_RENDERINGS, HclEvalError

    try:
        count = scope.render(body["count"])
    except HclEvalError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if isinstance(count, int) and not isinstance(count, bool) and 0 < count <= MAX_RENDERINGS:
        return [(i, scope.child(count={"index": i})) for i in range(count)]
    return None


def _existing(scope: Scope | None, body: Mapping[str, Any], where: str) -> Scope | None:
    """``scope`` under the condition on which a block exists when its ``count`` / ``for_each`` is a
    conditional the text does not decide with one branch that creates nothing (``var.create ? 1 : 0``): the
    block is judged on the renderings where it exists, not on those where Terraform would not create it."""
    if scope is None:
        return None
    from verifier.sources.hcl_eval import HclEvalError, existence_condition

    for meta in ("count", "for_each"):
        if meta in body:
            try:
                found = existence_condition(scope, body[meta])
            except HclEvalError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if found is not None:
                return scope.assuming(*found)
    return scope


def _instances(
    scope: Scope | None, body: Mapping[str, Any], where: str
) -> list[tuple[str, Scope]] | None:
    """One scope per instance of a block whose ``for_each`` the module decides (``each.key`` and
    ``each.value`` bound); None when it has no ``for_each`` or its collection is not known. A conditional
    between one collection and empty ones (``var.on ? {...} : {}``) has that collection's instances: the
    only ones that may exist."""
    if scope is None or "for_each" not in body:
        return None
    from verifier.sources.hcl_eval import Choice, HclEvalError, known

    try:
        collection = scope.render(body["for_each"])
    except HclEvalError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if isinstance(collection, Choice):
        present: list[Any] = []
        for option in collection.options:
            empty = known(option) and isinstance(option, list | dict) and not option
            if not empty and all(option != p for p in present):
                present.append(option)
        if len(present) == 1:
            collection = present[0]
    if not known(collection) or not isinstance(collection, list | dict) or not collection:
        return None
    pairs = (
        sorted(collection.items()) if isinstance(collection, dict) else [(v, v) for v in collection]
    )
    return [(str(key), scope.child(each={"key": key, "value": value})) for key, value in pairs]


def _render(scope: Scope | None, body: dict[str, Any], where: str) -> dict[str, Any]:
    if scope is None:
        return body
    from verifier.sources.hcl_eval import HclEvalError

    try:
        return scope.render_block(body)
    except HclEvalError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{where}: expressions nest too deeply") from None


_OVERRIDE_NAME = re.compile(r"(?:^|_)override\.tf(?:\.json)?$")
# Blocks an override file may override, by name (type and name for resources and data sources).
_NAMED_KINDS = ("module", "variable", "output")
_TYPED_KINDS = ("resource", "data")


def is_override_file(path: str) -> bool:
    """``override.tf`` or ``*_override.tf`` (or ``.tf.json``): Terraform merges its blocks into the blocks
    of the same address elsewhere in the module instead of creating them."""
    return bool(_OVERRIDE_NAME.search(os.path.basename(path)))


def _addresses(tree: Mapping[str, Any]) -> Iterator[str]:
    for kind in _TYPED_KINDS:
        for entry in tree.get(kind) or []:
            if isinstance(entry, Mapping):
                for rtype, named in entry.items():
                    if isinstance(named, Mapping):
                        prefix = "data." if kind == "data" else ""
                        yield from (f"{prefix}{rtype}.{name}" for name in named)
    for kind in _NAMED_KINDS:
        for entry in tree.get(kind) or []:
            if isinstance(entry, Mapping):
                yield from (f"{kind}.{name}" for name in entry)
    for entry in tree.get("locals") or []:
        if isinstance(entry, Mapping):
            yield from (f"locals.{name}" for name in entry)


def _merged_body(base: Any, override: Any) -> Any:
    """Terraform's override merge of one block: each argument of the override replaces the base's, and its
    nested blocks of a type replace all the base's nested blocks of that type (both: the same key here)."""
    if isinstance(base, list) and len(base) == 1:
        return [_merged_body(base[0], override)]
    if isinstance(override, list) and len(override) == 1:
        override = override[0]
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return override
    return {**base, **override}


def _merge_override(tree: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``tree`` (one file's blocks) with ``override``'s blocks merged into the blocks of the same address
    that this file defines (the others are in other files of the module, merged there)."""
    out: dict[str, Any] = dict(tree)
    for kind in _TYPED_KINDS:
        changes = [e for e in override.get(kind) or [] if isinstance(e, Mapping)]
        if not changes or not tree.get(kind):
            continue
        entries = []
        for entry in tree.get(kind) or []:
            if isinstance(entry, Mapping):
                entry = {
                    rtype: {
                        name: next(
                            (
                                _merged_body(body, c[rtype][name])
                                for c in changes
                                if isinstance(c.get(rtype), Mapping) and name in c[rtype]
                            ),
                            body,
                        )
                        for name, body in named.items()
                    }
                    if isinstance(named, Mapping)
                    else named
                    for rtype, named in entry.items()
                }
            entries.append(entry)
        out[kind] = entries
    for kind in _NAMED_KINDS:
        changes = [e for e in override.get(kind) or [] if isinstance(e, Mapping)]
        if not changes or not tree.get(kind):
            continue
        out[kind] = [
            {
                name: next((_merged_body(body, c[name]) for c in changes if name in c), body)
                for name, body in entry.items()
            }
            if isinstance(entry, Mapping)
            else entry
            for entry in tree.get(kind) or []
        ]
    local_changes = {
        k: v for e in override.get("locals") or [] if isinstance(e, Mapping) for k, v in e.items()
    }
    if local_changes and tree.get("locals"):
        out["locals"] = [
            {k: local_changes.get(k, v) for k, v in entry.items()}
            if isinstance(entry, Mapping)
            else entry
            for entry in tree.get("locals") or []
        ]
    return out


class _Loads:
    """What one :func:`load_configs` run shares between modules: file texts per directory, the directories
    some caller renders as a child module and the template files some module renders (both judged as
    called, not with their own defaults or placeholders)."""

    def __init__(self) -> None:
        self.texts: dict[str, dict[str, str]] = {}
        self.called: set[str] = set()
        self.rendered: set[str] = set()  # files templatefile()/file() read, by real path
        self.parsed: dict[tuple[str, str], dict[str, Any]] = {}
        self.instances = 0  # module instances rendered, at most MAX_MODULE_INSTANCES
        # root directory → call path ("outer.inner") → its entry in .terraform/modules/modules.json
        self.manifests: dict[str, dict[str, Mapping[str, Any]]] = {}
        # (notice, directory of a module read without a caller, else None): what Terraform does not create
        self.skipped: list[tuple[str, str | None]] = []


class _Module:
    """The ``.tf`` files of one directory (a Terraform module). Everything that crosses files is resolved
    over the whole module, whichever file is named or walked: variables and their defaults, locals, policy
    documents, OIDC providers, admin attachments and GCP IAM bindings.

    A module rendered from a caller's ``module`` block gets the caller's arguments as ``inputs`` (they
    replace the variables' defaults), the root module's directory as ``root`` (where Terraform runs, so
    what ``file()`` reads relative paths against), its nesting ``depth`` and ``origin``, the caller's
    ``file#module.call[key].`` its configurations are named under."""

    MAX_FILES = 500

    def __init__(
        self,
        directory: str,
        max_bytes: int,
        *,
        inputs: Mapping[str, Any] | None = None,
        root: str | None = None,
        depth: int = 0,
        loads: _Loads | None = None,
        calls: tuple[str, ...] = (),
        origin: str | None = None,
    ) -> None:
        self.directory = directory
        self.origin = origin
        self.max_bytes = max_bytes
        self.inputs = inputs
        self.root = root if root is not None else directory
        self.depth = depth
        # Module call names from the root (terraform init's key: "outer.inner").
        self.calls = calls
        self.loads = loads if loads is not None else _Loads()
        self._texts: dict[str, str] | None = None
        self._parsed: dict[str, dict[str, Any]] = {}
        self._scope: Scope | None = None
        self._attachments: dict[str, set[str]] | None = None
        self._providers: dict[str, str] | None = None
        self._documents: dict[str, dict[str, Any] | None] = {}
        self._bindings: dict[str | None, list[str]] | None = None
        self._has_bindings = False
        self._normal: set[str] | None = None
        self._overrides: list[dict[str, Any]] | None = None

    def texts(self) -> dict[str, str]:
        if self._texts is None and self.inputs is not None:
            # A child module rendered with a caller's arguments reads the same files as the directory's own.
            cached = self.loads.texts.get(os.path.normpath(self.directory))
            if cached is not None:
                self._texts = dict(cached)
        if self._texts is None:
            try:
                names = sorted(
                    n for n in os.listdir(self.directory) if n.endswith((".tf", ".tf.json"))
                )
            except OSError as exc:
                raise InputError(self.directory, f"cannot list: {exc.strerror}") from exc
            self._texts = {
                os.path.join(self.directory, n): read_text(
                    os.path.join(self.directory, n), self.max_bytes
                )
                for n in names[: self.MAX_FILES]
            }
            self.loads.texts.setdefault(os.path.normpath(self.directory), dict(self._texts))
        return self._texts

    def _normalized(self) -> set[str]:
        if self._normal is None:
            self._normal = {os.path.normpath(p) for p in self.texts()}
        return self._normal

    def cached_text(self, path: str) -> str | None:
        """The text of a file of the module when it has been read already."""
        return self._texts.get(path) if self._texts is not None else None

    def add(self, path: str, text: str) -> None:
        """A file named on the command line that the directory listing may not show (a symlink, a pipe)."""
        texts = self.texts()
        if path not in texts and os.path.normpath(path) not in self._normalized():
            texts[path] = text
            self._normal = None
            self._overrides = None

    def _raw(self, path: str) -> dict[str, Any]:
        text = self.texts()[path]
        key = (os.path.normpath(path), text)
        tree = self.loads.parsed.get(key)
        if tree is None:
            # Parsed once per run: every instance of a module renders the same trees (never mutated).
            tree = self.loads.parsed[key] = _terraform_load(text, path)
        return tree

    def parsed(self, path: str) -> dict[str, Any]:
        """A file's blocks as Terraform sees them: with the module's override files merged into the blocks
        they override; an override file itself has no blocks of its own."""
        if path not in self._parsed:
            if is_override_file(path):
                self._parsed[path] = {}
            else:
                self._parsed[path] = self._with_overrides(self._raw(path))
        return self._parsed[path]

    def override_files(self) -> list[str]:
        """The module's override files (``override.tf``, ``*_override.tf``, and ``.tf.json``), in the lexical
        order Terraform merges them in."""
        return sorted(
            (p for p in self.texts() if is_override_file(p)), key=lambda p: os.path.basename(p)
        )

    def overridden(self, override: str) -> set[str]:
        """Addresses (``aws_iam_role.x``, ``module.m``) of the blocks ``override`` overrides; a block that
        overrides nothing is an error, as Terraform makes it."""
        addresses: set[str] = set()
        defined = {
            a for p in self.texts() if not is_override_file(p) for a in _addresses(self._raw(p))
        }
        for address in _addresses(self._raw(override)):
            if address.startswith("locals."):
                continue
            if address not in defined:
                raise InputError(
                    override, f"overrides {address}, which no other file of the module defines"
                )
            addresses.add(address)
        return addresses

    def _override_trees(self) -> list[dict[str, Any]]:
        """The override files' blocks, in merge order, each checked once to override something."""
        if self._overrides is None:
            files = self.override_files()
            for override in files:
                self.overridden(override)
            self._overrides = [self._raw(override) for override in files]
        return self._overrides

    def _with_overrides(self, tree: dict[str, Any]) -> dict[str, Any]:
        merged = tree
        for override in self._override_trees():
            merged = _merge_override(merged, override)
        return merged

    def scope(self) -> Scope:
        """Variables (default values) and locals of every file of the module."""
        if self._scope is None:
            variables: dict[str, Any] = {}
            locals_: dict[str, Any] = {}
            for path, text in self.texts().items():
                if "variable" not in text and "locals" not in text:
                    continue
                data = self.parsed(path)
                for entry in data.get("variable") or []:
                    if isinstance(entry, Mapping):
                        for name, body in entry.items():
                            if isinstance(body, Mapping) and "default" in body:
                                variables[str(name)] = body["default"]
                for entry in data.get("locals") or []:
                    if isinstance(entry, Mapping):
                        locals_.update({str(k): v for k, v in entry.items()})
            if self.inputs is not None:
                # The caller's arguments replace the defaults; a variable it does not set keeps its
                # default (without one Terraform refuses the call, and the value stays a template).
                variables.update(self.inputs)
            else:
                self._apply_tfvars(variables)
            from verifier.sources.hcl_eval import Scope

            relative = os.path.relpath(self.directory, self.root)
            self._scope = Scope(
                variables,
                locals_,
                files=self.read_file,
                paths={"module": relative.replace(os.sep, "/"), "root": ".", "cwd": "."},
            )
        return self._scope

    def _apply_tfvars(self, variables: dict[str, Any]) -> None:
        """Variable values a plan of this (root) module takes from ``.tfvars`` files next to it.

        Terraform loads ``terraform.tfvars``, ``terraform.tfvars.json`` and then every ``*.auto.tfvars`` /
        ``*.auto.tfvars.json`` in lexical order by itself, each replacing what came before: those values
        replace the defaults. Any other ``*.tfvars`` file there is what a ``-var-file`` may pass: each value
        it sets is one more rendering of that variable (the worst decides), never ignored."""
        from verifier.sources.hcl_eval import Choice

        try:
            names = sorted(
                n
                for n in os.listdir(self.directory)
                if n.endswith((".tfvars", ".tfvars.json"))
                and os.path.isfile(os.path.join(self.directory, n))
            )
        except OSError as exc:
            raise InputError(self.directory, f"cannot list: {exc.strerror}") from exc
        automatic: list[str] = [
            n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names
        ]
        automatic += [n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json"))]
        optional = [n for n in names if n not in automatic]
        for name in automatic:
            variables.update(self._tfvars(name))
        alternatives: dict[str, list[tuple[str, Any]]] = {}
        for name in optional[: self.MAX_FILES]:
            for var, value in self._tfvars(name).items():
                alternatives.setdefault(var, []).append((f"-var-file={name}", value))
        for var, value in self._terragrunt_inputs().items():
            # Terragrunt passes its inputs as TF_VAR_ variables: what no .tfvars above sets.
            alternatives.setdefault(var, []).append(("from terragrunt.hcl inputs", value))
        for var, values in alternatives.items():
            options = (
                [("without a -var-file", variables[var])] if var in variables else []
            ) + values
            if len(options) == 1:
                variables[var] = options[0][1]
            else:
                variables[var] = Choice(
                    f"var.{var}", [v for _, v in options], [f"var.{var} {w}" for w, _ in options]
                )

    def _terragrunt_inputs(self) -> dict[str, Any]:
        """``inputs = {…}`` of a ``terragrunt.hcl`` next to the module (each one more rendering: the same file
        may also point elsewhere with ``terraform { source }``, and its expressions may stay templates)."""
        path = os.path.join(self.directory, "terragrunt.hcl")
        if not os.path.isfile(path):
            return {}
        data = _hcl_load(read_text(path, self.max_bytes), path)
        inputs = data.get("inputs")
        return {str(k): v for k, v in inputs.items()} if isinstance(inputs, Mapping) else {}

    def _tfvars(self, name: str) -> dict[str, Any]:
        path = os.path.join(self.directory, name)
        text = read_text(path, self.max_bytes)
        data: Any = parse_json(text, path) if name.endswith(".json") else _hcl_load(text, path)
        if not isinstance(data, dict):
            raise InputError(path, "a .tfvars file must set variables (name = value)")
        return {str(k): v for k, v in data.items()}

    def read_file(self, name: str) -> str:
        """A file ``file()`` / ``templatefile()`` names: relative to the root module's directory, as
        Terraform resolves it, and only inside the root module's or this module's directory tree."""
        from verifier.sources.hcl_eval import FileRefusedError

        full = name if os.path.isabs(name) else os.path.join(self.root, name)
        real = os.path.realpath(full)
        allowed = {os.path.realpath(self.root), os.path.realpath(self.directory)}
        if not any(os.path.commonpath([real, top]) == top for top in allowed):
            raise FileRefusedError(
                f"{name!r} is outside the module tree ({self.directory}), which this reader does not follow"
            )
        text = read_text(full, self.max_bytes)
        self.loads.rendered.add(real)
        return text

    def policy_document(self, name: str, besides: str | None = None) -> dict[str, Any] | None:
        """The IAM JSON ``data.aws_iam_policy_document.NAME`` renders to, from any file of the module."""
        if name in self._documents:
            found = self._documents[name]
            if found is None and name in self._documents and besides == "\x00cycle":
                return None
            return found
        self._documents[name] = None  # a document that is its own source renders without itself
        base = name.split("[")[0]
        instances: list[tuple[str, Any]] = []
        for path, text in self.texts().items():
            if f'"{base}"' not in text and f"{base} " not in text:
                continue
            for rtype, block_name, body in _blocks(self.parsed(path), "data", self.scope()):
                if rtype != "aws_iam_policy_document":
                    continue
                if block_name == name or ("[" not in name and block_name.startswith(base + "[")):
                    instances.append((block_name, _policy_document(body, self, path, name)))
        if not instances and name != base:
            # An instance key the module does not render (for_each not known): the block itself.
            self._documents[name] = self.policy_document(base)
            return self._documents[name]
        if not instances:
            return None
        if len(instances) == 1:
            self._documents[name] = instances[0][1]
        else:
            # `data.x[each.key].json` from a role: any instance may be the one; the worst decides.
            from verifier.sources.hcl_eval import Choice

            self._documents[name] = Choice(  # type: ignore[assignment]
                f"data.aws_iam_policy_document.{base}",
                [doc for _n, doc in instances],
                [f"data.aws_iam_policy_document.{n}" for n, _d in instances],
            )
        return self._documents[name]

    def referenced_elsewhere(self, name: str, besides: str) -> bool:
        pattern = re.compile(rf"data\.aws_iam_policy_document\.{re.escape(name)}[\[.]")
        return any(
            pattern.search(text)
            for path, text in self.texts().items()
            if os.path.normpath(path) != os.path.normpath(besides)
        )

    def oidc_providers(self) -> dict[str, str]:
        """``aws_iam_openid_connect_provider`` name → URL host/path, over the whole module (computed once)."""
        if self._providers is None:
            self._providers = {}
            for path, text in self.texts().items():
                if "aws_iam_openid_connect_provider" in text:
                    self._providers.update(_oidc_providers(self.parsed(path), self.scope()))
        return self._providers

    def admin_attachments(self) -> dict[str, set[str]]:
        """Role resource name → admin-like policies attached anywhere in the module (computed once)."""
        if self._attachments is None:
            self._attachments = {}
            for path, text in self.texts().items():
                if "aws_iam_role_policy_attachment" in text:
                    for role, arn in _attachments(self.parsed(path), self.scope()):
                        self._attachments.setdefault(role, set()).add(arn)
        return self._attachments

    def gcp_bindings(self) -> tuple[bool, dict[str | None, list[str]]]:
        """(any binding in the module, pool resource name → members) over every file of the module."""
        if self._bindings is None:
            self._bindings = {}
            for path, text in self.texts().items():
                if "google_service_account_iam" not in text:
                    continue
                for rtype, _name, body in _blocks(self.parsed(path), "resource", self.scope()):
                    if rtype in (
                        "google_service_account_iam_member",
                        "google_service_account_iam_binding",
                    ):
                        self._has_bindings = True
                        for member in _as_list(body.get("member")) + _as_list(body.get("members")):
                            pool = re.search(
                                r"google_iam_workload_identity_pool\.([A-Za-z0-9_-]+)", str(member)
                            )
                            self._bindings.setdefault(pool.group(1) if pool else None, []).append(
                                str(member)
                            )
        return self._has_bindings, self._bindings


def _oidc_providers(data: Mapping[str, Any], scope: Scope | None = None) -> dict[str, str]:
    return {
        name: re.sub(r"^https?://", "", str(body.get("url", "")))
        for rtype, name, body in _blocks(data, "resource", scope)
        if rtype == "aws_iam_openid_connect_provider" and body.get("url")
    }


def _attachments(data: Mapping[str, Any], scope: Scope | None = None) -> Iterator[tuple[str, str]]:
    """(role resource name, admin policy name) of every admin-like ``aws_iam_role_policy_attachment``."""
    for rtype, _name, body in _blocks(data, "resource", scope):
        if rtype == "aws_iam_role_policy_attachment":
            m = _ADMIN_ARN.search(str(body.get("policy_arn", "")))
            role = re.search(
                r"aws_iam_role\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.", str(body.get("role", ""))
            )
            if m and role:
                yield role.group(1), m.group(1)


def _overridden_configs(
    path: str, module: _Module, max_bytes: int, loads: _Loads | None
) -> list[TrustConfig]:
    """The configurations of the module's other files that the override file ``path`` changes, as a walk
    of the directory reports them."""
    addresses = module.overridden(path)
    found: list[TrustConfig] = []
    for base, text in list(module.texts().items()):
        if is_override_file(base):
            continue
        for config in _load_file(
            base, text, max_bytes, explicit=False, modules={module.directory: module}, loads=loads
        ):
            name = config.name or ""
            if any(name == a or name.startswith((a + ".", a + "[")) for a in addresses):
                found.append(config)
    return found


def _from_hcl(
    path: str, text: str, max_bytes: int, module: _Module | None = None, *, explicit: bool = True
) -> list[TrustConfig]:
    """Trust configurations of one ``.tf`` file, rendered against its whole module. A policy document used
    by a role of another file of the module is evaluated through that role when walking a directory
    (not twice)."""
    module = module or _Module(os.path.dirname(path) or ".", max_bytes)
    module.add(path, text)
    scope = module.scope()
    data = module.parsed(path) if path in module.texts() else _terraform_load(text, path)
    skipped_data: list[tuple[str, str, Mapping[str, Any]]] = []
    names = [
        name
        for rtype, name, _body in _blocks(data, "data", scope, skipped_data)
        if rtype == "aws_iam_policy_document"
    ]
    used: set[str] = set()
    admin_by_role: dict[str, set[str]] = {}
    if any(rtype == "aws_iam_role" for rtype, _n, _b in _blocks(data, "resource", scope)):
        for role_name, arns in module.admin_attachments().items():
            admin_by_role.setdefault(role_name, set()).update(arns)
    # aws_iam_openid_connect_provider.X.arn → the provider's URL, so principals name their issuer.
    providers = module.oidc_providers() if "aws_iam_openid_connect_provider." in text else {}
    configs: list[TrustConfig] = []
    has_bindings, pool_bindings = module.gcp_bindings()
    skipped: list[tuple[str, str, Mapping[str, Any]]] = []
    for rtype, name, body in _blocks(data, "resource", scope, skipped):
        address = f"{rtype}.{name}"
        if rtype == "aws_iam_role":
            policy = body.get("assume_role_policy")
            admin = {
                m.group(1)
                for m in _ADMIN_ARN.finditer(
                    json.dumps(body.get("managed_policy_arns") or [], default=str)
                )
            }
            admin |= admin_by_role.get(name.split("[")[0], set())
            try:
                doc = _with_providers(
                    _role_policy(path, policy, used, max_bytes, module), providers
                )
            except _TerraformShapeError as exc:
                configs.append(
                    _aws(path, text, {"Statement": []}, name=address, error=str(exc), trust=True)
                )
                continue
            configs.append(
                _aws(path, text, doc, name=address, admin=tuple(sorted(admin)), trust=True)
            )
        elif rtype == "google_iam_workload_identity_pool_provider":
            oidc = (_as_list(body.get("oidc")) or [{}])[0]
            pool = re.search(
                r"google_iam_workload_identity_pool\.([A-Za-z0-9_-]+)",
                str(body.get("workload_identity_pool_id", "")),
            )
            members = pool_bindings.get(pool.group(1) if pool else None, []) + (
                pool_bindings.get(None, []) if pool else []
            )
            doc = {
                "issuer_uri": oidc.get("issuer_uri") if isinstance(oidc, Mapping) else None,
                "attribute_mapping": body.get("attribute_mapping"),
                "attribute_condition": body.get("attribute_condition"),
            }
            if has_bindings:
                doc["bindings"] = [{"member": m} for m in members]
            configs.append(_config("gcp", path, text, doc, address))
        elif rtype in _AZURE_TF:
            configs.append(_config("azure", path, text, _azure_tf(body), address))
    for address, _reason, raw in skipped:
        if address.startswith("aws_iam_role."):
            # A document only a role Terraform does not create uses is not a trust policy of its own.
            used.update(_DOCUMENT_REF.findall(json.dumps(raw, default=str)))
    _record_skipped(
        path,
        module,
        [s for s in skipped if s[0].split(".")[0] in _TRUST_RESOURCES]
        + [
            s
            for s in skipped_data
            if s[0].startswith("aws_iam_policy_document.")
            and "sts:" in text
            and not module.referenced_elsewhere(s[0].split(".", 1)[1], "")
        ],
    )
    for name in names:
        if name.split("[")[0] in used:
            continue
        try:
            doc = module.policy_document(name)
        except _TerraformShapeError as exc:
            configs.append(
                _aws(
                    path,
                    text,
                    {"Statement": []},
                    name=f"data.aws_iam_policy_document.{name}",
                    error=str(exc),
                    trust=True,
                )
            )
            continue
        if (
            doc is not None
            and "assumerolewithwebidentity" in json.dumps(doc, default=str).lower()
            and (explicit or not module.referenced_elsewhere(name.split("[")[0], path))
        ):
            configs.append(
                _aws(
                    path,
                    text,
                    _with_providers(doc, providers),
                    name=f"data.aws_iam_policy_document.{name}",
                    trust=True,
                )
            )
    configs.extend(_module_calls(path, data, module))
    return configs


# Meta-arguments of a `module` block (Terraform language docs); every other attribute is an input.
_MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
# Terraform has no limit; a module that calls itself would never end.
MAX_MODULE_DEPTH = 16
# Module instances one run renders (nested `for_each` multiply): beyond this the input is refused.
MAX_MODULE_INSTANCES = 512
# An input to a module this reader cannot read looks like trust configuration when its name or value
# says so, or the module's source does.
_TRUST_INPUT = re.compile(
    r"(^|_)sub(ject)?s?($|_)|(^|_)aud(ience)?s?($|_)|claim|oidc|github|federat|trust|assume_role|"
    r"workload_identity|issuer",
    re.IGNORECASE,
)


_TRUST_RESOURCES = frozenset(
    {"aws_iam_role", "google_iam_workload_identity_pool_provider", *_AZURE_TF}
)
_DOCUMENT_REF = re.compile(r"data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)")


def _record_skipped(
    path: str, module: _Module, skipped: Sequence[tuple[str, str, Mapping[str, Any]]]
) -> None:
    """Notices for the blocks of one file Terraform does not create, named as their configurations would
    be; those of a module read without a caller carry its directory (dropped if a caller renders it)."""
    where = module.origin if module.origin is not None else f"{path}#"
    own = os.path.realpath(module.directory) if module.origin is None else None
    for address, reason, _body in skipped:
        module.loads.skipped.append((f"skipped {where}{address}: {reason}", own))


def _module_calls(path: str, data: Mapping[str, Any], module: _Module) -> list[TrustConfig]:
    """What ``terraform plan`` creates through the ``module`` blocks of one file: a local child module
    (``./``, ``../``) rendered with the caller's arguments, per instance (``count``, ``for_each``), named as
    plan JSON names it (``main.tf#module.ci.aws_iam_role.deploy``). A module this reader cannot read
    (registry, git) becomes an ``unsupported`` configuration when its inputs look like trust settings."""
    out: list[TrustConfig] = []
    for entry in data.get("module") or []:
        if not isinstance(entry, Mapping):
            continue
        for call, body in entry.items():
            if not isinstance(body, Mapping):
                continue
            source = body.get("source")
            if not isinstance(source, str) or not source:
                raise InputError(
                    path, f'module "{call}" has no source string (Terraform requires one)'
                )
            where = f'module "{call}"'
            # No instance (count 0, for_each empty): Terraform creates nothing through this call.
            reason = _not_created(module.scope(), body, where)
            uncreated = [(f"module.{call}", reason, body)] if reason is not None else []
            if source.startswith(("./", "../")):
                child_dir = os.path.normpath(os.path.join(module.directory, source))
            else:
                installed = _installed_module(module, str(call), source)
                if installed is None:
                    unread = _unread_module(path, module, str(call), source, body, where)
                    if unread and uncreated:
                        _record_skipped(path, module, uncreated)
                    elif unread:
                        out.extend(unread)
                    continue
                child_dir = installed
            if not os.path.isdir(child_dir):
                raise InputError(
                    path, f"{where}: source {source!r} is not a directory ({child_dir})"
                )
            if module.depth >= MAX_MODULE_DEPTH:
                raise InputError(
                    path, f"{where}: module calls nest deeper than {MAX_MODULE_DEPTH} levels"
                )
            module.loads.called.add(os.path.realpath(child_dir))
            if uncreated:
                texts = _Module(child_dir, module.max_bytes, loads=module.loads).texts().values()
                if any(_MARKERS.search(t) or _MODULE_CALL.search(t) for t in texts):
                    _record_skipped(path, module, uncreated)
                continue
            inputs_body = {k: v for k, v in body.items() if k not in _MODULE_META}
            from verifier.sources.hcl_eval import mark_templates

            call_scope = _existing(module.scope(), body, where) or module.scope()
            for key, scope in _module_instances(call_scope, body, where):
                module.loads.instances += 1
                if module.loads.instances > MAX_MODULE_INSTANCES:
                    raise InputError(
                        path,
                        f"{where}: more than {MAX_MODULE_INSTANCES} module instances to render "
                        "(nested count/for_each); render a plan instead (terraform show -json)",
                    )
                child = _Module(
                    child_dir,
                    module.max_bytes,
                    calls=(*module.calls, str(call)),
                    inputs=mark_templates(_render(scope, inputs_body, where)),
                    root=module.root,
                    depth=module.depth + 1,
                    loads=module.loads,
                    origin=f"{module.origin or path + '#'}module.{call}{key}.",
                )
                prefix = f"module.{call}{key}."
                for file, text in child.texts().items():
                    for c in _from_hcl(file, text, module.max_bytes, child, explicit=False):
                        inner = c.name or ""
                        first = c.first_line
                        if not inner.startswith("module."):
                            first = _first_line(text, re.sub(r"\[[^\]]*\]$", "", inner))
                        out.append(
                            dataclasses.replace(
                                c,
                                name=prefix + inner,
                                subject=f"{path}#{prefix}{inner}",
                                first_line=first,
                            )
                        )
    return out


def _module_instances(scope: Scope, body: Mapping[str, Any], where: str) -> list[tuple[str, Scope]]:
    """(address suffix, scope) per instance of a module block: ``["key"]`` per ``for_each`` element,
    ``[i]`` per ``count`` index the module decides; one instance with them unknown otherwise."""
    instances = _instances(scope, body, where)
    if instances is not None:
        return [(f'["{key}"]', instance) for key, instance in instances]
    counted = _counted(scope, body, where)
    if counted is not None:
        return [(f"[{i}]", instance) for i, instance in counted]
    return [("", scope)]


def _installed_module(module: _Module, call: str, source: str) -> str | None:
    """The directory where ``terraform init`` installed a registry or git module
    (``.terraform/modules/modules.json`` of the root module, keyed ``outer.inner``); None when the root has
    not been initialised, does not list the call, or lists it from another source."""
    root = os.path.realpath(module.root)
    if root not in module.loads.manifests:
        entries: dict[str, Mapping[str, Any]] = {}
        manifest = os.path.join(module.root, ".terraform", "modules", "modules.json")
        if os.path.isfile(manifest):
            data = parse_json(read_text(manifest, module.max_bytes), manifest)
            listed = data.get("Modules") if isinstance(data, Mapping) else None
            for entry in listed if isinstance(listed, list) else []:
                if isinstance(entry, Mapping) and isinstance(entry.get("Key"), str):
                    entries[entry["Key"]] = entry
        module.loads.manifests[root] = entries
    entry = module.loads.manifests[root].get(".".join((*module.calls, call)))
    if entry is None or not isinstance(entry.get("Dir"), str):
        return None
    recorded = str(entry.get("Source") or "")
    if recorded != source and not recorded.endswith("/" + source):
        return (
            None  # installed from another source (or spelled another way): not known to be this one
        )
    return os.path.normpath(os.path.join(module.root, entry["Dir"]))


def _unread_module(
    path: str, module: _Module, call: str, source: str, body: Mapping[str, Any], where: str
) -> list[TrustConfig]:
    inputs = {k: v for k, v in body.items() if k not in _MODULE_META}
    rendered = _render(module.scope(), dict(inputs), where)
    shown = json.dumps(rendered, default=str, sort_keys=True)
    trust_like = [k for k in inputs if _TRUST_INPUT.search(k)]
    if not (
        trust_like or _TRUST_INPUT.search(source) or _MARKERS.search(shown) or "repo:" in shown
    ):
        return []  # not about OIDC trust as far as its call shows: documented as not rendered
    names = trust_like or sorted(inputs)
    passed = ", ".join(
        f"{k} = {json.dumps(rendered.get(k), default=str)}" for k in names[:3]
    ).translate(_NO_BRACES)
    what = (
        f'module "{call}" (source {source!r}) is not read: only local '
        f"./ and ../ sources are rendered{'; it is passed ' + passed if passed else ''}"
    )
    name = f"module.{call}"
    text = module.texts().get(path, "")
    return [
        dataclasses.replace(
            _unsupported_role(path, text, name, what),
            subject=f"{path}#{name}",
            first_line=_module_line(text, call),
        )
    ]


_NO_BRACES = str.maketrans("{}", "()")


def _module_line(text: str, call: str) -> int:
    m = re.search(rf'module\s+"{re.escape(call)}"', text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _config(provider: Provider, path: str, text: str, doc: Any, name: str) -> TrustConfig:
    first, renderings = _renderings(doc)
    return TrustConfig(
        provider=provider,
        subject=path,
        path=path,
        document=first,
        text=text,
        name=name,
        renderings=renderings,
    )


def _renderings(doc: Any) -> tuple[Any, tuple[Rendering, ...]]:
    """The document and, when a conditional the text does not decide is in it, every rendering."""
    if "verifier.sources.hcl_eval" not in sys.modules:
        return doc, ()  # a Choice exists only where the evaluator or the renderer made one
    from verifier.sources.hcl_eval import expand_choices

    options = expand_choices(doc)
    if len(options) == 1:
        return options[0][1], ()
    return options[0][1], tuple(Rendering(label, value) for label, value in options)


def _with_providers(doc: Any, providers: Mapping[str, str]) -> Any:
    if not providers:
        return doc
    from verifier.sources.hcl_eval import Choice

    def repl(m: re.Match[str]) -> str:
        url = providers.get(m.group(1))
        return f"arn:aws:iam::${{account}}:oidc-provider/{url}" if url else m.group(0)

    pattern = re.compile(
        r"\$\{aws_iam_openid_connect_provider\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.arn\}"
    )

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return pattern.sub(repl, node)
        if isinstance(node, list):
            return [walk(x) for x in node]
        if isinstance(node, Choice):
            return Choice(node.label, [walk(x) for x in node.options], node.names)
        if isinstance(node, Mapping):
            return {k: walk(v) for k, v in node.items()}
        return node

    return walk(doc)


class _TerraformShapeError(ValueError):
    """A configuration Terraform itself would reject (its message names the block and attribute)."""


_DOC_REF = re.compile(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.json\}")


def _document_name(ref: re.Match[str]) -> str:
    """``x`` or, for an instance the reference names with a literal key, ``x["key"]``."""
    index = ref.group(2)
    if index and re.fullmatch(r'\["[^"\\]*"\]', index):
        return ref.group(1) + index
    return ref.group(1)


def _role_policy(
    path: str,
    policy: Any,
    used: set[str],
    max_bytes: int,
    module: _Module,
) -> Any:
    from verifier.sources.hcl_eval import Choice

    if isinstance(policy, Choice):
        # A conditional (or a template's `%{ if }`) the module does not decide: every rendering. One that
        # is not JSON cannot be deployed (Terraform's apply fails on it), so it drops out, unless all do.
        options: list[Any] = []
        names: list[str] = []
        failures: list[InputError] = []
        for index, option in enumerate(policy.options):
            try:
                rendered = (
                    _role_policy(path, option, used, max_bytes, module)
                    if isinstance(option, str)
                    else option
                )
            except InputError as exc:
                failures.append(exc)
                continue
            options.append(rendered)
            names.append(policy.name(index))
        if not options:
            raise failures[0]
        return Choice(policy.label, options, names)
    if isinstance(policy, Mapping):
        return policy
    if not isinstance(policy, str):
        raise InputError(path, "aws_iam_role.assume_role_policy is missing or not a string")
    s = policy.strip()
    heredoc = re.fullmatch(r"<<-?\s*([A-Za-z_]+)\n(.*)\n\s*\1", s, re.DOTALL)
    if heredoc:
        return parse_json(_hcl_unescape(heredoc.group(2)), f"{path} (assume_role_policy heredoc)")
    ref = _DOC_REF.fullmatch(s)
    if ref:
        used.add(ref.group(1))
        found = module.policy_document(_document_name(ref))
        if found is None:
            raise InputError(
                path,
                f"assume_role_policy refers to data.aws_iam_policy_document.{ref.group(1)}, "
                f"which no .tf file of {module.directory} defines",
            )
        return found
    enc = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", s, re.DOTALL)
    if enc:
        inner = _hcl_load(f"v = {enc.group(1)}\n", f"{path} (jsonencode)").get("v")
        return _hcl_unquote(module.scope().render(inner))
    file_ref = re.fullmatch(
        r"\$\{(?:file|templatefile)\(\s*\"?(?:\$\{path\.module\}/|\./)?([^\",)]+)\"?.*\)\}",
        s,
        re.DOTALL,
    )
    if file_ref:
        target = os.path.join(os.path.dirname(path), file_ref.group(1))
        return parse_json(read_text(target, max_bytes), target)
    if s.startswith("{"):
        return parse_json(s, f"{path} (assume_role_policy)")
    # An expression we cannot follow: keep it as an unresolved principal so the verdict says so.
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": s if s.startswith("${") else "${" + s + "}"},
            }
        ]
    }


def _hcl_unescape(text: str) -> str:
    """HCL template escapes: ``$${`` is a literal ``${``, ``%%{`` a literal ``%{``."""
    return text.replace("$${", "${").replace("%%{", "%{")


def _hcl_strings(value: Any) -> Any:
    if isinstance(value, str):
        return _hcl_unescape(value)
    if isinstance(value, list):
        return [_hcl_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _hcl_strings(v) for k, v in value.items()}
    return value


def _hcl_unquote(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).strip('"'): _hcl_unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_hcl_unquote(v) for v in value]
    return value


# The attributes and blocks of a `data "aws_iam_policy_document"` statement (Terraform AWS provider
# docs); anything else is rejected by `terraform validate`, so a trust evaluator must not skip it.
_STATEMENT_KEYS = frozenset(
    {
        "sid",
        "effect",
        "actions",
        "not_actions",
        "resources",
        "not_resources",
        "principals",
        "not_principals",
        "condition",
    }
)


def _policy_document(
    body: Mapping[str, Any], module: _Module | None = None, path: str = "", name: str = ""
) -> dict[str, Any]:
    """``data "aws_iam_policy_document"`` → the IAM JSON it renders, as the AWS provider does:
    statements of ``source_json`` and ``source_policy_documents`` first, this document's statements replace
    those with the same ``sid``, then each of ``override_policy_documents`` and ``override_json`` replaces
    statements with its ``sid``s (statements without a ``sid`` are appended)."""
    from verifier.sources.hcl_eval import Choice, expand_choices

    own: list[dict[str, Any]] = []
    for st in _as_list(body.get("statement")):
        if not isinstance(st, Mapping):
            continue
        unknown = sorted(set(st) - _STATEMENT_KEYS)
        if unknown:
            hint = {"action": "actions", "principal": "principals", "resource": "resources"}
            fixes = [f"{k!r} (Terraform: {hint[k]!r})" if k in hint else repr(k) for k in unknown]
            raise _TerraformShapeError(
                f"data.aws_iam_policy_document.{name}: a statement has no attribute "
                f"{', '.join(fixes)}; Terraform rejects it, and its meaning is lost"
            )
        variants = expand_choices(st)
        if len(variants) == 1:
            own.append(_statement(st))
        else:
            # `test = var.strict ? "StringEquals" : "StringLike"`: one statement per rendering
            own.append(
                Choice(  # type: ignore[arg-type]
                    "statement",
                    [_statement(v) for _label, v in variants],
                    [label for label, _v in variants],
                )
            )
    statements: list[dict[str, Any]] = []
    # source_json / override_json: the AWS provider's single-document forms before v5 (source_json is the
    # first source, override_json the last override).
    sources = [*_as_list(body.get("source_json")), *_as_list(body.get("source_policy_documents"))]
    overrides = [
        *_as_list(body.get("override_policy_documents")),
        *_as_list(body.get("override_json")),
    ]
    for source in _documents_of(sources, module, path):
        statements = _merge(statements, source)
    statements = _merge(statements, own)
    for override in _documents_of(overrides, module, path):
        statements = _merge(statements, override)
    return {"Version": "2012-10-17", "Statement": statements}


def _statement(st: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": st.get("effect", "Allow")}
    if "sid" in st:
        out["Sid"] = st["sid"]
    if "actions" in st:
        out["Action"] = st["actions"]
    if "not_actions" in st:
        out["NotAction"] = st["not_actions"]
    principals: dict[str, list[Any]] = {}
    for p in _as_list(st.get("principals")):
        if isinstance(p, Mapping):
            principals.setdefault(str(p.get("type")), []).extend(_as_list(p.get("identifiers")))
    if principals:
        out["Principal"] = principals
    conditions: dict[str, dict[str, list[Any]]] = {}
    for c in _as_list(st.get("condition")):
        if isinstance(c, Mapping):
            conditions.setdefault(str(c.get("test")), {}).setdefault(
                str(c.get("variable")), []
            ).extend(_as_list(c.get("values")))
    if conditions:
        out["Condition"] = conditions
    return out


def _documents_of(value: Any, module: _Module | None, path: str) -> Iterator[list[dict[str, Any]]]:
    """The statements of each JSON document in ``source_/override_policy_documents``."""
    from verifier.sources.hcl_eval import Choice

    for item in _as_list(value):
        doc: Any = None
        if isinstance(item, str):
            ref = _DOC_REF.fullmatch(item.strip())
            if ref and module is not None:
                doc = module.policy_document(_document_name(ref))
                if doc is None:
                    raise _TerraformShapeError(
                        f"data.aws_iam_policy_document.{ref.group(1)} is used as a source or override "
                        "document but no .tf file of the module defines it"
                    )
            elif item.strip().startswith("{"):
                doc = parse_json(item, f"{path} (policy document)")
            else:
                # Not known before apply: a statement of its own that the evaluator treats as a template.
                doc = {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Principal": {
                                "Federated": item if item.startswith("${") else "${" + item + "}"
                            },
                        }
                    ]
                }
        elif isinstance(item, Mapping):
            doc = item
        for one in doc.options if isinstance(doc, Choice) else [doc]:
            if isinstance(one, Mapping):
                yield [s for s in _as_list(one.get("Statement")) if isinstance(s, dict)]


def _merge(base: list[Any], incoming: list[Any]) -> list[Any]:
    """``incoming`` statements replace ``base`` statements with the same non-empty ``Sid``; others are
    appended. A statement that is a :class:`Choice` (several renderings) has no ``Sid`` to match."""
    out = list(base)
    for st in incoming:
        sid = st.get("Sid") if isinstance(st, dict) else None
        index = next(
            (
                i
                for i, b in enumerate(out)
                if sid and isinstance(sid, str) and isinstance(b, dict) and b.get("Sid") == sid
            ),
            None,
        )
        if index is None:
            out.append(st)
        else:
            out[index] = st
    return out


# --- a small HCL reader ------------------------------------------------------------------------------


class HclError(ValueError):
    """The text is not HCL this reader understands (message has the line)."""


class _HclReader:
    """Reads the HCL that trust configurations are written in: blocks, attributes, strings (with
    ``${...}`` kept as text), heredocs, numbers, booleans, lists, objects. Any other expression (a
    reference, a function call, a conditional, a ``for``) is kept as its source text wrapped in ``${...}``,
    which is what the trust evaluator treats as a template. The output has the shape python-hcl2 gives
    (blocks as lists of bodies, labels as nested keys).
    """

    _CLOSERS = {"(": ")", "[": "]", "{": "}"}

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def error(self, problem: str) -> HclError:
        return HclError(f"{problem} at line {self.s.count(chr(10), 0, self.i) + 1}")

    def skip(self, newlines: bool = True) -> None:
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#" or s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    raise self.error("unterminated comment")
                self.i = end + 2
            else:
                return

    def ident(self) -> str | None:
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*").match(self.s, self.i)
        if not m:
            return None
        self.i = m.end()
        return m.group(0)

    def body(self, closing: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            self.skip()
            if self.i >= len(self.s):
                if closing:
                    raise self.error(f"missing {closing!r}")
                return out
            if closing and self.s[self.i] == closing:
                self.i += 1
                return out
            name = self.ident()
            if name is None:
                raise self.error(f"unexpected {self.s[self.i]!r}")
            self.skip(newlines=False)
            if self.s.startswith("=", self.i) and not self.s.startswith("==", self.i):
                self.i += 1
                out[name] = self.expr()
                continue
            labels: list[str] = []
            while True:
                self.skip(newlines=False)
                if self.s.startswith('"', self.i):
                    labels.append(self.string())
                elif self.s.startswith("{", self.i):
                    break
                else:
                    label = self.ident()
                    if label is None:
                        raise self.error(f"expected '=' or a block after {name!r}")
                    labels.append(label)
            self.i += 1
            value: Any = self.body("}")
            for label in reversed(labels):
                value = {label: value}
            existing = out.setdefault(name, [])
            if not isinstance(existing, list):
                raise self.error(f"{name!r} is both an attribute and a block")
            existing.append(value)

    def expr(self) -> Any:
        self.skip(newlines=False)
        start = self.i
        value = self.primary()
        self.skip(newlines=False)
        if (
            self.i >= len(self.s)
            or self.s[self.i] in "\n,)]}"
            or self.s.startswith(("#", "//"), self.i)
        ):
            return value
        self.i = start
        return "${" + self.raw() + "}"

    def primary(self) -> Any:
        s = self.s
        if self.i >= len(s):
            raise self.error("expected a value")
        c = s[self.i]
        if c == '"':
            return self.string()
        if c in "[{" and re.compile(r"[\[{]\s*for\s").match(s, self.i):
            # Evaluated by the module's scope: over a known collection, every element; over an open
            # one, the element template once (`[for x in coll : "repo:${org}/${x}:*"]`).
            return "${" + self.raw() + "}"
        if s.startswith("<<", self.i):
            return self.heredoc()
        if c == "[":
            self.i += 1
            items: list[Any] = []
            while True:
                self.skip()
                if s.startswith("]", self.i):
                    self.i += 1
                    return items
                items.append(self.expr())
                self.skip()
                if s.startswith(",", self.i):
                    self.i += 1
                elif not s.startswith("]", self.i):
                    raise self.error("expected ',' or ']'")
        if c == "{":
            self.i += 1
            obj: dict[str, Any] = {}
            while True:
                self.skip()
                if s.startswith("}", self.i):
                    self.i += 1
                    return obj
                if s.startswith('"', self.i):
                    key = self.string()
                elif s.startswith("(", self.i):
                    key = "${" + self.raw() + "}"
                else:
                    name = self.ident()
                    if name is None:
                        raise self.error("expected an object key")
                    key = name
                self.skip(newlines=False)
                if s[self.i : self.i + 1] not in ("=", ":"):
                    raise self.error("expected '=' after an object key")
                self.i += 1
                obj[key] = self.expr()
                self.skip(newlines=False)
                if s.startswith(",", self.i):
                    self.i += 1
        m = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?\b").match(s, self.i)
        if m:
            self.i = m.end()
            return float(m.group(0)) if m.group(1) or m.group(2) else int(m.group(0))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if re.compile(word + r"\b").match(s, self.i):
                self.i += len(word)
                return value
        return "${" + self.raw() + "}"

    _PLAIN = re.compile(r'[^"\\$%\n]+')

    def string(self) -> str:
        s = self.s
        out: list[str] = []
        self.i += 1
        while True:
            plain = self._PLAIN.match(s, self.i)
            if plain:
                out.append(plain.group(0))
                self.i = plain.end()
            if self.i >= len(s) or s[self.i] == "\n":
                raise self.error("unterminated string")
            c = s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                out.append(
                    {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt)
                )
                self.i += 2
            elif s.startswith("${", self.i) or s.startswith("%{", self.i):
                start = self.i
                self.i += 1
                self.raw_group()
                out.append(s[start : self.i])
            else:
                out.append(c)
                self.i += 1

    def heredoc(self) -> str:
        m = re.compile(r"<<(-?)\s*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n").match(self.s, self.i)
        if not m:
            raise self.error("bad heredoc")
        end = re.compile(r"^[ \t]*" + re.escape(m.group(2)) + r"[ \t]*$", re.MULTILINE).search(
            self.s, m.end()
        )
        if not end:
            raise self.error(f"heredoc {m.group(2)} is not closed")
        content = self.s[m.end() : end.start()].rstrip("\n")
        self.i = end.end()
        return textwrap.dedent(content) if m.group(1) else content

    def raw_group(self) -> None:
        """Skip one bracketed group starting at self.i (strings inside respected)."""
        s, stack = self.s, [self._CLOSERS[self.s[self.i]]]
        self.i += 1
        while stack:
            if self.i >= len(s):
                raise self.error(f"missing {stack[-1]!r}")
            c = s[self.i]
            if c == '"':
                self.string()
                continue
            if c in self._CLOSERS:
                stack.append(self._CLOSERS[c])
            elif c == stack[-1]:
                stack.pop()
            elif c in ")]}":
                raise self.error(f"unexpected {c!r}")
            self.i += 1

    def raw(self) -> str:
        """Source text of one expression, up to a newline/','/closer at nesting depth 0."""
        s, start = self.s, self.i
        while self.i < len(s):
            c = s[self.i]
            if c in "\n,)]}" or s.startswith(("#", "//"), self.i):
                break
            if c == '"':
                self.string()
            elif s.startswith("<<", self.i) and re.compile(r"<<-?[A-Za-z_]").match(s, self.i):
                self.heredoc()
            elif c in self._CLOSERS:
                self.raw_group()
            else:
                self.i += 1
        text = s[start : self.i].strip()
        if not text:
            raise self.error("expected a value")
        return text


def parse_hcl(text: str) -> dict[str, Any]:
    """Parse HCL text into python-hcl2's shape; raise HclError naming the line."""
    return _HclReader(text).body(None)


__all__ = ["DEFAULT_MAX_BYTES", "HclError", "load_configs", "parse_hcl"]
