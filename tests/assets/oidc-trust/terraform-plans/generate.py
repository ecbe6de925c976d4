"""Regenerate ``<case>.plan.json`` for every case directory here with real Terraform (run by hand).

Each case is a root module (with child modules and template files) whose values Terraform decides at plan
time. ``terraform plan`` renders it and ``terraform show -json`` writes the plan; the test
(``tests/unit/sources/test_trust_terraform_plans.py``) reads each case through the HCL reader and checks that
it renders the same trust documents, with the same addresses, as Terraform did. No cloud access is needed:
the AWS provider is configured with dummy credentials and every check that would call AWS skipped.

    TF_PLUGINS=/opt/tf-plugins .venv/bin/python tests/assets/oidc-trust/terraform-plans/generate.py [CASE...]

Needs ``terraform`` on PATH and the ``hashicorp/aws`` provider in a filesystem mirror (``TF_PLUGINS``).
The plans recorded here were made with Terraform v1.11.4 and hashicorp/aws v5.100.0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVIDER = """provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
"""


def cli_config(directory: Path, plugins: str) -> Path:
    """A Terraform CLI configuration that installs the AWS provider from the local mirror only."""
    path = directory / "cli.tfrc"
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{plugins}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n',
        encoding="utf-8",
    )
    return path


def plan(case: Path, work: Path, env: dict[str, str]) -> dict[str, object]:
    """The plan JSON Terraform writes for a copy of ``case``."""
    tree = work / case.name
    shutil.copytree(case, tree)
    (tree / "zz_provider.tf").write_text(PROVIDER, encoding="utf-8")
    for args in (
        ["init", "-input=false", "-backend=false"],
        ["plan", "-input=false", "-refresh=false", "-out=plan.out"],
    ):
        subprocess.run(["terraform", *args], cwd=tree, env=env, check=True, capture_output=True)
    shown = subprocess.run(
        ["terraform", "show", "-json", "plan.out"],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
    )
    data: dict[str, object] = json.loads(shown.stdout)
    return data


def main() -> int:
    """Write every case's plan next to it; the plans keep only what the reader needs."""
    plugins = os.environ.get("TF_PLUGINS", "/opt/tf-plugins")
    with tempfile.TemporaryDirectory(prefix="tf-plans-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config(work, plugins)),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }
        chosen = set(sys.argv[1:])  # case names; none: every case
        for case in sorted(p for p in HERE.iterdir() if p.is_dir()):
            if chosen and case.name not in chosen:
                continue
            data = plan(case, work, env)
            kept = {k: data[k] for k in ("format_version", "planned_values", "resource_changes")}
            out = HERE / f"{case.name}.plan.json"
            out.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            print(f"{out.name}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
