"""Render-check ``deploy/helm/verifier`` without helm.

``helm`` is not installed here, so the templates are rendered by a small interpreter for exactly the Go
template subset the chart uses (``if/else/end``, ``range``, variables, comments, pipelines with ``quote``,
``b64enc``, ``sha256sum``, ``toYaml``, ``nindent``, ``printf``, ``list``, ``dict``, ``default``, ``index``, ``and``,
``int``, ``not``, ``contains``, ``fail``, ``genCA``, ``genSignedCert``, ``lookup`` (against a dict standing for the
cluster: empty, as in ``helm template`` and a first install, unless a test puts objects there);
``{{-``/``-}}`` whitespace trimming). Anything else in a template makes the renderer raise, so the chart
cannot silently grow syntax this check does not understand. ``genCA``/``genSignedCert`` make real
certificates (cryptography) so the caBundle ↔ Secret ↔ service-name wiring is checked for real. Every
rendered document is then parsed as YAML and checked for what the issue asks.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import REPO
from verifier.admission.review import POD_SPEC_PATHS

CHART = REPO / "deploy" / "helm" / "verifier"
RELEASE = {"Name": "verifier", "Namespace": "verifier-system"}
SERVICE = "verifier.verifier-system.svc"

# ----------------------------------------------------------------------------------- tiny Go templates

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\(|\)|\||:=|=|[^\s()|]+')


class TemplateError(Exception):
    """The chart uses template syntax this renderer does not know."""


class ChartFailError(Exception):
    """The chart's own ``fail``: helm would refuse to render with this message."""


def _fail(message: str) -> None:
    raise ChartFailError(message)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, (list, dict)) and not value)


def _pem(obj: Any) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _gen_ca(cn: str, days: int) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return {"Cert": _pem(cert), "Key": _pem(key), "_cert": cert, "_key": key}


def _gen_signed(
    cn: str, ips: Any, names: list[str], days: int, ca: dict[str, Any]
) -> dict[str, Any]:
    assert ips is None
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca["_cert"].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(ca["_key"], hashes.SHA256())
    )
    return {"Cert": _pem(cert), "Key": _pem(key)}


def _to_yaml(value: Any) -> str:
    if value in ({}, []):
        return "{}" if value == {} else "[]"
    return str(yaml.safe_dump(value, default_flow_style=False, sort_keys=False)).rstrip("\n")


def _and(*args: Any) -> Any:
    """Go's ``and``: the first falsy argument, else the last."""
    for arg in args:
        if not _truthy(arg):
            return arg
    return args[-1]


def _index(obj: Any, *keys: Any) -> Any:
    """Go's ``index``: a missing map key is nil, indexing nil is an error (as in helm)."""
    for key in keys:
        if obj is None:
            raise TemplateError("index of untyped nil")
        obj = obj.get(key) if isinstance(obj, dict) else obj[key]
    return obj


FUNCS: dict[str, Any] = {
    "quote": lambda v: (
        '"' + str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    ),
    "b64enc": lambda v: base64.b64encode(str(v).encode()).decode(),
    "sha256sum": lambda v: hashlib.sha256(str(v).encode()).hexdigest(),
    "toYaml": _to_yaml,
    "nindent": lambda n, v: "\n" + "\n".join(" " * int(n) + line for line in str(v).split("\n")),
    "printf": lambda fmt, *args: fmt.replace("%s", "{}").format(*args),
    "list": lambda *args: list(args),
    "dict": lambda *pairs: dict(zip(pairs[::2], pairs[1::2], strict=True)),
    "default": lambda fallback, value=None: value if _truthy(value) else fallback,
    "index": _index,
    "and": _and,
    "int": int,
    "not": lambda v: not _truthy(v),
    "contains": lambda sub, v: str(sub) in str(v),
    "fail": _fail,
    "genCA": _gen_ca,
    "genSignedCert": _gen_signed,
}


class Renderer:
    """Render one template text with ``.Values``, ``.Release``, ``.Chart``."""

    def __init__(
        self,
        values: dict[str, Any],
        chart: dict[str, Any],
        cluster: dict[tuple[str, str, str, str], dict[str, Any]] | None = None,
    ) -> None:
        self.root = {
            "Values": values,
            "Release": RELEASE,
            "Chart": {
                "Name": chart["name"],
                "AppVersion": chart["appVersion"],
                "Version": chart["version"],
            },
        }
        self.cluster = cluster or {}

    def _lookup(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """helm's ``lookup``: the live object, or an empty map when it does not exist."""
        return copy.deepcopy(self.cluster.get((api_version, kind, namespace, name), {}))

    def render(self, text: str) -> str:
        parts: list[tuple[str, str]] = []  # ("text", s) | ("action", s)
        pos = 0
        for m in _ACTION.finditer(text):
            chunk = text[pos : m.start()]
            if m.group(1):
                chunk = chunk.rstrip()
            parts.append(("text", chunk))
            parts.append(("action", m.group(2)))
            pos = m.end()
            if m.group(3):
                rest = text[pos:]
                pos += len(rest) - len(rest.lstrip())
        parts.append(("text", text[pos:]))
        out: list[str] = []
        index = self._block(parts, 0, out, self.root, {}, stop=())
        if index != len(parts):
            raise TemplateError(f"unexpected {parts[index][1]!r}")
        return "".join(out)

    def _block(
        self,
        parts: list[tuple[str, str]],
        i: int,
        out: list[str] | None,
        dot: Any,
        variables: dict[str, Any],
        stop: tuple[str, ...],
    ) -> int:
        while i < len(parts):
            kind, body = parts[i]
            if kind == "text":
                if out is not None:
                    out.append(body)
                i += 1
                continue
            if body.startswith("/*") and body.endswith("*/"):  # a comment
                i += 1
                continue
            head = body.split(None, 1)[0] if body else ""
            if head in stop:
                return i
            if head == "if":
                cond = out is not None and _truthy(self._expr(body[2:], dot, variables))
                i = self._block(
                    parts, i + 1, out if cond else None, dot, variables, ("else", "end")
                )
                if parts[i][1] == "else":
                    i = self._block(
                        parts,
                        i + 1,
                        out if (out is not None and not cond) else None,
                        dot,
                        variables,
                        ("end",),
                    )
                i += 1
            elif head == "range":
                spec = body[len("range") :].strip()
                names: list[str] = []
                if ":=" in spec:
                    lhs, spec = spec.split(":=", 1)
                    names = [n.strip() for n in lhs.split(",")]
                seq = self._expr(spec, dot, variables) if out is not None else []
                items = list(seq.items()) if isinstance(seq, dict) else list(enumerate(seq or []))
                end = self._block(parts, i + 1, None, dot, variables, ("end",))
                for key, value in items:
                    scope = dict(variables)
                    if len(names) == 2:
                        scope[names[0]], scope[names[1]] = key, value
                    self._block(parts, i + 1, out, value, scope, ("end",))
                i = end + 1
            elif head.startswith("$") and len(body.split()) > 2 and body.split()[1] in (":=", "="):
                name, _op, expr = body.split(None, 2)
                if out is not None:
                    variables[name] = self._expr(expr, dot, variables)
                i += 1
            elif head in ("else", "end"):
                raise TemplateError(f"unbalanced {head}")
            else:
                if out is not None:
                    value = self._expr(body, dot, variables)
                    out.append("" if value is None else str(value))
                i += 1
        return i

    def _expr(self, text: str, dot: Any, variables: dict[str, Any]) -> Any:
        tokens = _tokens(text)
        value, rest = self._pipeline(tokens, dot, variables)
        if rest:
            raise TemplateError(f"trailing tokens in {text!r}")
        return value

    def _pipeline(
        self, tokens: list[str], dot: Any, variables: dict[str, Any]
    ) -> tuple[Any, list[str]]:
        value: Any = None
        first = True
        while True:
            command: list[Any] = []
            while tokens and tokens[0] not in ("|", ")"):
                tok = tokens.pop(0)
                if tok == "(":
                    sub, tokens = self._pipeline(tokens, dot, variables)
                    if not tokens or tokens.pop(0) != ")":
                        raise TemplateError("unbalanced parenthesis")
                    command.append(("value", sub))
                else:
                    command.append(tok)
            value = self._command(command, None if first else value, first, dot, variables)
            first = False
            if tokens and tokens[0] == "|":
                tokens.pop(0)
                continue
            return value, tokens

    def _operand(self, tok: Any, dot: Any, variables: dict[str, Any]) -> Any:
        if isinstance(tok, tuple):
            return tok[1]
        if tok.startswith('"'):
            return yaml.safe_load(tok)
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        if tok == "nil":
            return None
        if tok in ("dict", "list"):  # a function name as an argument is a call without arguments
            return FUNCS[tok]()
        if tok == ".":
            return dot
        if tok.startswith("$"):
            name, _, path = tok.partition(".")
            if name not in variables:
                raise TemplateError(f"undefined variable {name}")
            return self._path(variables[name], path)
        if tok.startswith("."):
            return self._path(self.root, tok[1:])
        raise TemplateError(f"unknown operand {tok!r}")

    @staticmethod
    def _path(obj: Any, path: str) -> Any:
        for key in filter(None, path.split(".")):
            obj = obj.get(key) if isinstance(obj, dict) else None
        return obj

    def _command(
        self, command: list[Any], piped: Any, first: bool, dot: Any, variables: dict[str, Any]
    ) -> Any:
        if not command:
            raise TemplateError("empty command")
        head = command[0]
        func = (
            self._lookup if head == "lookup" else FUNCS.get(head) if isinstance(head, str) else None
        )
        if func is not None:
            args = [self._operand(t, dot, variables) for t in command[1:]]
            if not first:
                args.append(piped)
            return func(*args)
        if isinstance(head, str) and re.fullmatch(r"[A-Za-z]\w*", head):
            raise TemplateError(f"unknown function {head!r}")
        if len(command) != 1 or not first:
            raise TemplateError(f"cannot call {head!r}")
        return self._operand(head, dot, variables)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def render(
    overrides: dict[str, Any] | None = None,
    cluster: dict[tuple[str, str, str, str], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every non-empty document of every template, parsed (``cluster``: what ``lookup`` finds)."""
    values = _merge(yaml.safe_load((CHART / "values.yaml").read_text()), overrides or {})
    renderer = Renderer(values, yaml.safe_load((CHART / "Chart.yaml").read_text()), cluster)
    docs = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        text = renderer.render(template.read_text())
        try:
            parsed = list(yaml.safe_load_all(text))
        except yaml.YAMLError as exc:
            raise AssertionError(f"{template.name} renders to invalid YAML: {exc}\n{text}") from exc
        docs.extend(d for d in parsed if d)
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


# ------------------------------------------------------------------------------------------------ tests


def test_renderer_refuses_unknown_syntax() -> None:
    r = Renderer({}, {"name": "x", "appVersion": "1", "version": "1"})
    assert r.render('a: {{ "b" | quote }}') == 'a: "b"'
    with pytest.raises(TemplateError):
        r.render('{{ tpl "x" . }}')
    with pytest.raises(TemplateError, match="index of untyped nil"):
        r.render('{{ index .Values.missing "key" }}')
    assert r.render("{{/* a comment */}}a") == "a"
    assert (
        r.render(
            '{{ $s := lookup "v1" "Secret" "ns" "name" }}{{ $s.data | default dict | toYaml }}'
        )
        == "{}"
    )
    with pytest.raises(TemplateError):
        r.render('{{ include "verifier.fullname" . }}')


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "verifier"
    from verifier import __version__

    assert chart["appVersion"] == __version__


def test_default_render_kinds() -> None:
    kinds = sorted(d["kind"] for d in render())
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceAccount",
        "ValidatingWebhookConfiguration",
    ]


def test_validating_webhook_configuration() -> None:
    docs = render()
    vwc = by_kind(docs, "ValidatingWebhookConfiguration")
    assert vwc["apiVersion"] == "admissionregistration.k8s.io/v1"
    [hook] = vwc["webhooks"]
    assert hook["sideEffects"] == "None"
    assert hook["failurePolicy"] == "Fail"
    assert 1 <= hook["timeoutSeconds"] <= 30
    assert hook["admissionReviewVersions"][0] == "v1"
    assert hook["clientConfig"]["service"] == {
        "name": "verifier",
        "namespace": "verifier-system",
        "path": "/validate",
        "port": 443,
    }
    [expr] = hook["namespaceSelector"]["matchExpressions"]
    assert expr["key"] == "kubernetes.io/metadata.name" and expr["operator"] == "NotIn"
    assert {"verifier-system", "kube-system"} <= set(expr["values"])
    resources = {
        (g, r) for rule in hook["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert ("", "pods/ephemeralcontainers") in resources
    for rule in hook["rules"]:
        assert set(rule["operations"]) == {"CREATE", "UPDATE"}


def test_rules_cover_every_kind_the_webhook_reads() -> None:
    plural = {
        "Pod": ("", "pods"),
        "PodTemplate": ("", "podtemplates"),
        "ReplicationController": ("", "replicationcontrollers"),
        "Deployment": ("apps", "deployments"),
        "ReplicaSet": ("apps", "replicasets"),
        "StatefulSet": ("apps", "statefulsets"),
        "DaemonSet": ("apps", "daemonsets"),
        "Job": ("batch", "jobs"),
        "CronJob": ("batch", "cronjobs"),
        # kubectl debug before Kubernetes 1.23: kind EphemeralContainers on the pods subresource
        "EphemeralContainers": ("", "pods/ephemeralcontainers"),
    }
    [hook] = by_kind(render(), "ValidatingWebhookConfiguration")["webhooks"]
    resources = {
        (g, r) for rule in hook["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert set(POD_SPEC_PATHS) == set(plural)
    assert {plural[k] for k in POD_SPEC_PATHS} <= resources


def test_generated_certificate_matches_the_ca_bundle_and_the_service_name() -> None:
    docs = render()
    secret = by_kind(docs, "Secret")
    [hook] = by_kind(docs, "ValidatingWebhookConfiguration")["webhooks"]
    ca_pem = base64.b64decode(hook["clientConfig"]["caBundle"])
    assert ca_pem == base64.b64decode(secret["data"]["ca.crt"])
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert SERVICE in sans.get_values_for_type(x509.DNSName)
    assert secret["metadata"]["name"] == "verifier-tls" and secret["type"] == "kubernetes.io/tls"
    serialization.load_pem_private_key(base64.b64decode(secret["data"]["tls.key"]), None)


def _tls(docs: list[dict[str, Any]]) -> tuple[dict[str, str], str]:
    [hook] = by_kind(docs, "ValidatingWebhookConfiguration")["webhooks"]
    return by_kind(docs, "Secret")["data"], hook["clientConfig"]["caBundle"]


def test_upgrade_keeps_the_certificate_of_the_installed_release() -> None:
    """A new CA on every upgrade would switch the caBundle before the pods serve the new certificate (the
    kubelet refreshes mounted Secrets after about a minute), denying every admission meanwhile."""
    first, ca_bundle = _tls(render())
    secret = {"apiVersion": "v1", "kind": "Secret", "data": dict(first)}
    cluster = {("v1", "Secret", "verifier-system", "verifier-tls"): secret}
    again, ca_bundle_again = _tls(render(cluster=cluster))
    assert again == first and ca_bundle_again == ca_bundle == first["ca.crt"]
    # Without the Secret (first install, or `helm template`), a new CA each time.
    fresh, fresh_bundle = _tls(render())
    assert fresh["ca.crt"] != first["ca.crt"] and fresh_bundle == fresh["ca.crt"]


@pytest.mark.parametrize("missing", ["tls.crt", "tls.key", "ca.crt"])
def test_incomplete_secret_is_replaced_not_half_reused(missing: str) -> None:
    first, _ = _tls(render())
    partial = {k: v for k, v in first.items() if k != missing}
    cluster = {("v1", "Secret", "verifier-system", "verifier-tls"): {"data": partial}}
    again, ca_bundle = _tls(render(cluster=cluster))
    assert all(again[k] != first[k] for k in first)
    assert ca_bundle == again["ca.crt"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(again["ca.crt"]))
    x509.load_pem_x509_certificate(base64.b64decode(again["tls.crt"])).verify_directly_issued_by(ca)


def test_secret_of_another_release_or_namespace_is_not_reused() -> None:
    first, _ = _tls(render())
    for key in [
        ("v1", "Secret", "other-ns", "verifier-tls"),
        ("v1", "Secret", "verifier-system", "x-tls"),
    ]:
        again, _ = _tls(render(cluster={key: {"data": dict(first)}}))
        assert again["ca.crt"] != first["ca.crt"]


def test_deployment_is_hardened_and_highly_available() -> None:
    docs = render()
    dep = by_kind(docs, "Deployment")
    spec = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] == 3
    assert spec["automountServiceAccountToken"] is False
    anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert {t["podAffinityTerm"]["topologyKey"] for t in anti} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [c] = spec["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["privileged"] is False
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
    assert c["args"][0] == "webhook"
    assert "--tls-cert=/etc/verifier/tls/tls.crt" in c["args"] and "--host=0.0.0.0" in c["args"]
    assert c["image"] == "ghcr.io/verifier-dev/verifier:0.1.0"
    assert len(dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"]) == 64
    pdb = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2 < dep["spec"]["replicas"]
    assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    svc = by_kind(docs, "Service")
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def test_default_config_is_a_valid_verifier_yaml(tmp_path: Path) -> None:
    from verifier.adapters.commands.webhook import load_webhook_config

    cm = by_kind(render(), "ConfigMap")
    path = tmp_path / "verifier.yaml"
    path.write_text(cm["data"]["verifier.yaml"])
    webhook, rest = load_webhook_config(path)
    assert webhook.mode == "enforce" and webhook.require_digest is True
    assert rest.signers is not None and rest.signers.identity is not None


def test_options() -> None:
    docs = render(
        {
            "image": {"digest": "sha256:" + "a" * 64},
            "registryCredentials": {"secretName": "regcred"},
            "webhook": {
                "failurePolicy": "Ignore",
                "timeoutSeconds": 5,
                "excludeNamespaces": ["kube-system", "flux-system"],
            },
            "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        }
    )
    c = by_kind(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "ghcr.io/verifier-dev/verifier@sha256:" + "a" * 64
    assert "--docker-config=/etc/verifier/docker/config.json" in c["args"]
    [hook] = by_kind(docs, "ValidatingWebhookConfiguration")["webhooks"]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Ignore", 5)
    assert "flux-system" in hook["namespaceSelector"]["matchExpressions"][0]["values"]
    monitor = by_kind(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["scheme"] == "https" and endpoint["tlsConfig"]["serverName"] == SERVICE


def test_cert_manager_mode() -> None:
    docs = render({"certManager": {"enabled": True}})
    kinds = sorted(d["kind"] for d in docs)
    assert "Secret" not in kinds and {"Certificate", "Issuer"} <= set(kinds)
    cert = by_kind(docs, "Certificate")
    assert cert["spec"]["secretName"] == "verifier-tls"
    assert SERVICE in cert["spec"]["dnsNames"]
    vwc = by_kind(docs, "ValidatingWebhookConfiguration")
    assert (
        vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        == "verifier-system/verifier"
    )
    assert "caBundle" not in vwc["webhooks"][0]["clientConfig"]
    external = render(
        {"certManager": {"enabled": True, "issuerRef": {"kind": "ClusterIssuer", "name": "ca"}}}
    )
    assert "Issuer" not in [d["kind"] for d in external]
    assert by_kind(external, "Certificate")["spec"]["issuerRef"] == {
        "kind": "ClusterIssuer",
        "name": "ca",
    }


def test_signer_keys_sit_next_to_the_config_and_load(tmp_path: Path) -> None:
    """A key-based signer: the public key from ``signerKeys`` is mounted beside verifier.yaml, the config
    names it relatively, and the webhook's signer policy loads it (the real loader, the demo's throwaway key)."""
    from datetime import UTC, datetime

    from verifier.adapters.commands.webhook import load_webhook_config
    from verifier.checks.signature import signature_policy

    pem = (REPO / "fixtures" / "demo" / "keys" / "throwaway-cosign.pub").read_text()
    config = "version: 1\nsigners:\n  key: cosign.pub\nwebhook:\n  mode: enforce\n"
    docs = render({"config": config, "signerKeys": {"cosign.pub": pem}})
    cm = by_kind(docs, "ConfigMap")
    assert sorted(cm["data"]) == ["cosign.pub", "verifier.yaml"]
    for name, text in cm["data"].items():  # what the ConfigMap volume puts in /etc/verifier/config
        (tmp_path / name).write_text(text)
    _webhook, rest = load_webhook_config(tmp_path / "verifier.yaml")
    assert rest.signers.key == str(tmp_path / "cosign.pub")
    assert signature_policy(rest.signers, datetime.now(UTC)).key is not None


def test_signer_keys_refuse_a_private_key_and_roll_the_pods() -> None:
    private = (REPO / "fixtures" / "demo" / "keys" / "throwaway-cosign.key").read_text()
    with pytest.raises(ChartFailError, match="signerKeys.cosign.key holds a private key"):
        render({"signerKeys": {"cosign.key": private}})
    # A key rotation changes the pod template, so the Deployment rolls to pick it up.
    pem = (REPO / "fixtures" / "demo" / "keys" / "throwaway-cosign.pub").read_text()

    def checksum(keys: dict[str, str]) -> str:
        pod = by_kind(render({"signerKeys": keys}), "Deployment")["spec"]["template"]
        return str(pod["metadata"]["annotations"]["checksum/config"])

    assert (
        checksum({})
        != checksum({"cosign.pub": pem})
        != checksum({"cosign.pub": pem.replace("A", "B", 1)})
    )


# ------------------------------------------------------------- the rendered chart against Kubernetes itself

# Chart.yaml's kubeVersion (>=1.25) up to the newest schema kubernetes-validate ships: every minor release.
KUBERNETES_VERSIONS = tuple(f"1.{minor}.0" for minor in range(25, 38))
# Custom resources: not in the Kubernetes OpenAPI schemas (cert-manager's and prometheus-operator's own).
CUSTOM_KINDS = {
    ("cert-manager.io/v1", "Certificate"),
    ("cert-manager.io/v1", "Issuer"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "options": {
        "image": {"digest": "sha256:" + "a" * 64},
        "registryCredentials": {"secretName": "regcred"},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    },
    "cert-manager": {"certManager": {"enabled": True}},
    "network-policy": {
        "networkPolicy": {
            "enabled": True,
            "apiServer": [{"ipBlock": {"cidr": "10.0.0.10/32"}}],
            "metrics": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
        }
    },
}


def test_supported_versions_match_the_chart() -> None:
    import kubernetes_validate.utils as kv

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBERNETES_VERSIONS[0]}-0"
    assert KUBERNETES_VERSIONS[-1] == kv.latest_version()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_manifest_is_valid_for_every_supported_kubernetes(variant: str) -> None:
    """Strict validation (unknown fields are errors) with kubernetes-validate against the OpenAPI schemas
    of each supported release; custom resources are listed, not skipped silently."""
    import kubernetes_validate

    docs = render(VARIANTS[variant])
    core = [d for d in docs if (d["apiVersion"], d["kind"]) not in CUSTOM_KINDS]
    custom = {(d["apiVersion"], d["kind"]) for d in docs} - {
        (d["apiVersion"], d["kind"]) for d in core
    }
    assert custom <= CUSTOM_KINDS
    if variant == "cert-manager":
        assert {k for _, k in custom} == {"Certificate", "Issuer"}
    if variant == "network-policy":
        assert "NetworkPolicy" in {d["kind"] for d in core}
    for version in KUBERNETES_VERSIONS:
        for doc in core:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"Kubernetes {version}: {doc['kind']} {doc['metadata']['name']}: {exc}")


def test_validation_catches_a_broken_manifest() -> None:
    """The validator is not a rubber stamp: a misspelt field and a wrong type in the Deployment fail."""
    import kubernetes_validate

    deployment = by_kind(render(), "Deployment")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["replica"] = 3
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "three"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)
