"""Azure federated identity credentials in ARM templates (what ``az bicep build`` writes) and in Bicep.

Before, an ARM template's credential was not recognised (a directory walk skipped it silently when the
directory held anything else, so a credential for the wrong repository was never judged), and ``.bicep``
files were not looked at. ARM credentials are read (child resources and the symbolic-name form too); an ARM
expression is unsupported; Bicep itself is not parsed, so a Bicep file that declares credentials is one
``unsupported`` configuration saying how to check it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from verifier.checks.oidc_trust import check_all
from verifier.errors import InputError
from verifier.sources.trust_policy_files import load_configs

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
FIC = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
GOOD = "repo:acme/app:ref:refs/heads/main"


def _credential(subject: str, name: str = "id/gh") -> dict[str, Any]:
    return {
        "type": FIC,
        "apiVersion": "2023-01-31",
        "name": name,
        "properties": {
            "issuer": "https://token.actions.githubusercontent.com",
            "subject": subject,
            "audiences": ["api://AzureADTokenExchange"],
        },
    }


def _verdicts(path: Path) -> dict[str, str]:
    configs = load_configs([str(path)])
    return {
        Path(c.subject.split("#")[0]).name + c.subject[len(c.subject.split("#")[0]) :]: r.verdict
        for c, r in zip(configs, check_all(configs), strict=True)
    }


def _write(tmp_path: Path, resources: Any) -> Path:
    path = tmp_path / "azuredeploy.json"
    path.write_text(
        json.dumps({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources})
    )
    # Another, unrelated configuration beside it: the walk must still read the template.
    (tmp_path / "trust.json").write_text(
        json.dumps({"issuer": "https://token.actions.githubusercontent.com", "subject": GOOD})
    )
    return path


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (GOOD, "pass"),
        ("repo:acme/other:ref:refs/heads/main", "pass"),
        ("[parameters('subject')]", "unsupported"),
    ],
)
def test_arm_credentials_are_judged(tmp_path: Path, subject: str, expected: str) -> None:
    path = _write(tmp_path, [_credential(subject)])
    named = _verdicts(path)
    assert named == {"azuredeploy.json#id/gh": expected}
    assert _verdicts(tmp_path)["azuredeploy.json#id/gh"] == expected


def test_child_and_symbolic_name_resources(tmp_path: Path) -> None:
    identity = {
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "name": "id",
        "resources": [_credential("[concat('repo:', parameters('repo'))]", "gh")],
    }
    path = _write(tmp_path, {"identity": identity, "second": _credential(GOOD, "id/two")})
    assert _verdicts(path) == {
        "azuredeploy.json#gh": "unsupported",
        "azuredeploy.json#id/two": "pass",
    }


BICEP = """\
resource fic 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  name: 'id/gh'
  properties: {
    issuer: 'https://token.actions.githubusercontent.com'
    subject: 'repo:acme/app:ref:refs/heads/main'
    audiences: ['api://AzureADTokenExchange']
  }
}
"""


def test_bicep_credentials_are_unsupported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(BICEP)
    (tmp_path / "storage.bicep").write_text(
        "resource s 'Microsoft.Storage/storageAccounts@2023-01-01' = {}\n"
    )
    assert _verdicts(tmp_path) == {"main.bicep": "unsupported"}
    assert _verdicts(tmp_path / "main.bicep") == {"main.bicep": "unsupported"}
    [config] = load_configs([str(tmp_path / "main.bicep")])
    assert "az bicep build --file main.bicep" in json.dumps(config.document)
    with pytest.raises(InputError, match="unknown provider"):
        load_configs([str(tmp_path / "storage.bicep")])
