"""The chart's NetworkPolicy and server limits, rendered with the chart test's Go-template renderer
(tests/unit/test_helm_chart.py: no helm here).

Ingress reaches the webhook pods only from the apiserver peers (and scrapers when listed), on the webhook
port; egress goes only to the cluster DNS and the registry ranges; enabling the policy without the
apiserver's addresses refuses to render (it would cut the webhook off: every admission denied). The server
limits in values reach the command line, and every flag the chart passes exists on ``verifier webhook``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_helm_chart import ChartFailError, by_kind, render

APISERVER = [{"ipBlock": {"cidr": "10.0.0.10/32"}}]


def _policy(**overrides: Any) -> dict[str, Any]:
    values = {"networkPolicy": {"enabled": True, "apiServer": APISERVER, **overrides}}
    return by_kind(render(values), "NetworkPolicy")


def test_no_policy_unless_enabled() -> None:
    assert not [d for d in render() if d["kind"] == "NetworkPolicy"]


def test_enabled_without_the_apiserver_refuses_to_render() -> None:
    with pytest.raises(ChartFailError, match="networkPolicy.apiServer is empty"):
        render({"networkPolicy": {"enabled": True}})


def test_ingress_only_from_the_apiserver_on_the_webhook_port() -> None:
    policy = _policy()
    spec = policy["spec"]
    assert policy["metadata"]["namespace"] == "verifier-system"
    assert spec["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "verifier",
        "app.kubernetes.io/instance": "verifier",
    }
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"from": APISERVER, "ports": [{"port": "https", "protocol": "TCP"}]}]
    # The named port is the container's: the policy follows webhook.port.
    deployment = by_kind(render({"webhook": {"port": 9443}}), "Deployment")
    ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert ports == [{"name": "https", "containerPort": 9443, "protocol": "TCP"}]


def test_metrics_scrapers_are_let_in_only_when_listed() -> None:
    scraper = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    ingress = _policy(metrics=scraper)["spec"]["ingress"]
    assert [rule["from"] for rule in ingress] == [APISERVER, scraper]


def test_egress_only_to_dns_and_the_registries() -> None:
    egress = _policy()["spec"]["egress"]
    dns, registries = egress
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert sorted((p["port"], p["protocol"]) for p in dns["ports"]) == [(53, "TCP"), (53, "UDP")]
    assert registries == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }
    narrowed = _policy(
        registries=[{"ipBlock": {"cidr": "140.82.112.0/20"}}],
        registryPorts=[443, 5000],
        extraEgress=[
            {"to": [{"podSelector": {"matchLabels": {"app": "opa"}}}], "ports": [{"port": 8181}]}
        ],
    )["spec"]["egress"]
    assert narrowed[1] == {
        "to": [{"ipBlock": {"cidr": "140.82.112.0/20"}}],
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 5000, "protocol": "TCP"}],
    }
    assert narrowed[2] == {
        "to": [{"podSelector": {"matchLabels": {"app": "opa"}}}],
        "ports": [{"port": 8181}],
    }


def _args(values: dict[str, Any] | None = None) -> list[str]:
    deployment = by_kind(render(values), "Deployment")
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def test_server_limits_reach_the_command_line() -> None:
    args = _args(
        {
            "server": {
                "maxConnections": 200,
                "handshakeTimeoutSeconds": 3,
                "headerTimeoutSeconds": 7,
                "keepAliveTimeoutSeconds": 45,
                "maxRequestsPerConnection": 50,
            }
        }
    )
    for flag in (
        "--max-connections=200",
        "--handshake-timeout=3",
        "--header-timeout=7",
        "--keep-alive-timeout=45",
        "--max-requests-per-connection=50",
    ):
        assert flag in args


def test_every_flag_the_chart_passes_is_accepted_by_the_command() -> None:
    """The chart's defaults parse as the command's options (a renamed flag would crash-loop the pods)."""
    from verifier.adapters.commands.webhook import command

    names = {opt for param in command.params for opt in getattr(param, "opts", [])}
    flags = [a.split("=", 1)[0] for a in _args() if a.startswith("--")]
    assert flags and set(flags) <= names, set(flags) - names
    ctx = command.make_context("webhook", _args()[1:], resilient_parsing=True)
    assert ctx.params["max_connections"] == 1000
    assert ctx.params["header_timeout"] == 10.0
