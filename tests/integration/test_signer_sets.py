"""Named signer sets: chosen per image (gate) or per webhook rule, N-of-M thresholds, issuer patterns.

Images: the demo's two OCI layouts (THROWAWAY demo key), the real keyless demo signature, and images pushed
to the local docker-registry and signed here with throwaway keys (one image signed by two keys).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli import run_cli
from tests.integration.conftest import LocalRegistry
from tests.integration.test_webhook_registry import SIMPLESIGNING, _key, _pod, _sign
from tests.integration.webhook_support import ApiserverClient, ServerThread, make_pki
from verifier.adapters.commands.webhook import build_decider
from verifier.adapters.webhook import create_app
from verifier.config import parse_config
from verifier.errors import InputError

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
DEMO_KEY = str(DEMO / "keys" / "throwaway-cosign.pub")
API = f"oci-layout:{DEMO / 'throwaway-key'}"
WORKER = f"oci-layout:{DEMO / 'throwaway-worker'}"
KEYLESS = f"oci-layout:{DEMO / 'keyless-real'}"


def _sign_twice(
    reg: LocalRegistry, repo: str, digest: str, *keys: ec.EllipticCurvePrivateKey
) -> None:
    """One cosign .sig manifest with a layer per key (as `cosign sign` appends a second signature)."""
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": f"{reg.host}/{repo}"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()
    layers = [
        (
            payload,
            SIMPLESIGNING,
            {
                "dev.cosignproject.cosign/signature": base64.b64encode(
                    key.sign(payload, ec.ECDSA(hashes.SHA256()))
                ).decode()
            },
        )
        for key in keys
    ]
    reg.attach_legacy(repo, digest, layers)


def _gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: dict[str, Any]
) -> dict[str, Any]:
    path = tmp_path / "verifier.yaml"
    path.write_text(yaml.safe_dump(config))
    run = run_cli(capsys, "gate", "--config", str(path), "--format", "json")
    assert run.code in (0, 1), run.err
    report: dict[str, Any] = json.loads(run.out)
    return report


def _verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {r["subject"].split("@")[0]: r["verdict"] for r in report["results"]}


def test_each_image_is_verified_by_the_set_its_pattern_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = _key(tmp_path, "other")
    del other
    sets = {
        "api": {"images": ["oci-layout:*/throwaway-key"], "key": DEMO_KEY},
        "worker": {"images": ["oci-layout:*/throwaway-worker"], "key": str(tmp_path / "other.pub")},
    }
    report = _gate(capsys, tmp_path, {"images": [API, WORKER], "signers": sets})
    assert _verdicts(report) == {API: "pass", WORKER: "fail"}
    assert report["decision"]["allowed"] is False
    facts = {r["subject"].split("@")[0]: r["facts"].get("signer_set") for r in report["results"]}
    assert facts == {API: "api", WORKER: "worker"}
    # The worker's set trusting the demo key: both pass.
    sets["worker"]["key"] = DEMO_KEY
    assert _gate(capsys, tmp_path, {"images": [API, WORKER], "signers": sets})["decision"][
        "allowed"
    ]


def test_an_image_no_set_applies_to_is_denied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sets = {"api": {"images": ["oci-layout:*/throwaway-key"], "key": DEMO_KEY}}
    report = _gate(capsys, tmp_path, {"images": [API, WORKER], "signers": sets})
    worker = next(r for r in report["results"] if r["subject"] == WORKER)
    assert worker["verdict"] == "error" and "no signer set applies" in worker["facts"]["error"]
    assert report["decision"]["allowed"] is False


def test_sbom_attestation_is_verified_with_the_images_set(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _key(tmp_path, "other")
    sets = {
        "api": {"images": ["oci-layout:*/throwaway-key"], "key": DEMO_KEY},
        "worker": {"images": ["*"], "key": str(tmp_path / "other.pub")},
    }
    report = _gate(capsys, tmp_path, {"images": [API, WORKER], "signers": sets, "sbom": {}})
    sbom = {
        r["subject"].split("@")[0]: r["verdict"]
        for r in report["results"]
        if r["check"] == "sbom-attestation"
    }
    assert sbom == {API: "pass", WORKER: "fail"}


@pytest.mark.parametrize(
    ("issuer", "verdict"),
    [
        ({"issuer_regexp": r"https://github\.com/login/.+"}, "pass"),
        ({"issuer_regexp": r"https://token\.actions\.githubusercontent\.com"}, "fail"),
        (
            {"issuer_regexp": r"github\.com/login/oauth"},
            "fail",
        ),  # fully anchored: a part is no match
        ({"issuer": "https://github.com/login/oauth"}, "pass"),
    ],
)
def test_issuer_pattern(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, issuer: dict[str, str], verdict: str
) -> None:
    """The real keyless demo signature (issuer https://github.com/login/oauth)."""
    signers = {"identity": {"identity": "mitr@redhat.com", **issuer}}
    report = _gate(capsys, tmp_path, {"image": KEYLESS, "signers": signers})
    assert [r["verdict"] for r in report["results"]] == [verdict]


@pytest.mark.registry
def test_threshold_counts_distinct_signers(
    capsys: pytest.CaptureFixture[str], registry: LocalRegistry, tmp_path: Path
) -> None:
    """An image signed by two keys (one .sig manifest, two layers) and one signed by one of them."""
    first, second, _third = (
        _key(tmp_path, "first"),
        _key(tmp_path, "second"),
        _key(tmp_path, "third"),
    )
    repo = registry.new_repo("threshold")
    both, _ = registry.push_image(repo, "both")
    _sign_twice(registry, repo, both, first, second)
    one, _ = registry.push_image(repo, "one")
    _sign(registry, repo, one, first)
    two_of = {
        "threshold": 2,
        "authorities": [
            {"key": str(tmp_path / n)} for n in ("first.pub", "second.pub", "third.pub")
        ],
    }
    for image, verdict in ((both, "pass"), (one, "fail")):
        report = _gate(capsys, tmp_path, {"image": registry.ref(repo, image), "signers": two_of})
        [result] = report["results"]
        assert result["verdict"] == verdict, result
        assert result["facts"]["threshold"] == 2
        assert result["facts"]["count"] == (2 if verdict == "pass" else 1)
        if verdict == "fail":
            assert "threshold-not-met" in {f["rule"] for f in result["findings"]}
    one_of = {**two_of, "threshold": 1}
    report = _gate(capsys, tmp_path, {"image": registry.ref(repo, one), "signers": one_of})
    assert report["decision"]["allowed"] is True


@pytest.mark.registry
def test_webhook_rule_names_its_signer_set(registry: LocalRegistry, tmp_path: Path) -> None:
    """A stricter set for the prod namespace: the image signed by the release key is admitted in dev and
    denied in prod, whose rule names a set that trusts another key."""
    release, _other = _key(tmp_path, "release"), _key(tmp_path, "other")
    repo = registry.new_repo("rules")
    digest, _ = registry.push_image(repo, "v1")
    _sign(registry, repo, digest, release)
    config = tmp_path / "verifier.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "signers": {
                    "release": {"key": "release.pub"},
                    "prod": {"key": "other.pub", "images": []},
                },
                "webhook": {
                    "failure_ttl_seconds": 0,
                    "rules": [{"namespaces": ["prod"], "signers": "prod"}],
                },
            }
        )
    )
    pki = make_pki(tmp_path)
    server = ServerThread(create_app(build_decider(config)), pki).start()
    try:
        with ApiserverClient(server.port, pki.ca_file) as client:
            image = registry.ref(repo, digest)
            for namespace, allowed in (("default", True), ("prod", False)):
                body = json.loads(_pod([image], uid=f"u-{namespace}"))
                body["request"]["namespace"] = namespace
                answer = client.review(json.dumps(body).encode())
                assert answer.response is not None
                assert answer.response["allowed"] is allowed, (namespace, answer.response)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("signers", "webhook", "message"),
    [
        ({"a": {"key": "k.pub", "keyy": 1}}, None, "unknown key 'signers.a.keyy'"),
        ({"key": "k.pub", "threshold": 2}, None, "threshold 2 is more than the 1 signer(s)"),
        ({"authorities": [{"key": "k.pub", "identity": {"identity": "x", "issuer": "i"}}]}, None,
         "exactly one of identity (keyless) or key"),
        ({"a": {"key": "k.pub"}}, {"rules": [{"signers": "b"}]}, "no signer set named 'b'"),
        ({"key": "k.pub"}, {"rules": [{"signers": "a"}]}, "signers: is one set"),
        ({"identity": {"identity": "x", "issuer": "i", "issuer_regexp": "i.*"}}, None,
         "at most one of issuer / issuer_regexp"),
    ],
)  # fmt: skip
def test_bad_signer_sets_are_config_errors(
    signers: dict[str, Any], webhook: dict[str, Any] | None, message: str
) -> None:
    doc: dict[str, Any] = {"signers": signers}
    if webhook is not None:
        doc["webhook"] = webhook
    with pytest.raises(InputError) as info:
        parse_config(doc, "v.yaml")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/app@sha256:" + "a" * 64,
        "GHCR.IO/acme/app@sha256:" + "a" * 64,
        "ghcr.io:443/acme/app@sha256:" + "a" * 64,
        "Ghcr.Io:443/acme/app:v1",
    ],
)
def test_a_stricter_set_cannot_be_dodged_by_spelling(image: str) -> None:
    """Every spelling the kubelet pulls as the same image picks the same (stricter) set."""
    config = parse_config(
        {
            "signers": {
                "acme": {"images": ["GHCR.IO/acme/*"], "key": "acme.pub", "threshold": 1},
                "anyone": {"images": ["*"], "key": "other.pub"},
            }
        },
        "v.yaml",
    )
    chosen = config.signers_for(image)
    assert chosen is not None and chosen[0] == "acme"


def test_docker_hub_spellings_pick_the_same_set() -> None:
    config = parse_config(
        {"signers": {"nginx": {"images": ["nginx"], "key": "n.pub"}, "rest": {"key": "r.pub"}}},
        "v.yaml",
    )
    for image in ("nginx:1.25", "docker.io/library/nginx", "index.docker.io/library/nginx:1",
                  "registry-1.docker.io/library/nginx@sha256:" + "c" * 64):  # fmt: skip
        chosen = config.signers_for(image)
        assert chosen is not None and chosen[0] == "nginx", image
