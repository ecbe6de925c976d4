"""The check protocol: what every check declares, and what the pipeline offers it while it runs.

A check is one module with one :class:`Check` subclass (its instance is the module's ``CHECK``): a kebab-case
``id`` that never changes, the ``verifier.yaml`` ``section`` that turns it on and the dataclass that types
that section, how it collects evidence (:meth:`Check.collect`, through :mod:`verifier.sources` only) and how it
judges that evidence (:meth:`Check.judge`, pure), plus the settings it hands the Rego policy
(:meth:`Check.policy_config`). :mod:`verifier.checks.registry` lists the checks; the pipeline
(:mod:`verifier.pipeline`) loops over that list and is the only caller of these methods.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from verifier.models import CheckResult

if TYPE_CHECKING:
    from verifier.models.config import VerifierConfig
    from verifier.models.evidence import ImageEvidence

DOCS_BASE = "https://github.com/verifier-dev/verifier/blob/main/docs/checks"

SectionT = TypeVar("SectionT")
EvidenceT = TypeVar("EvidenceT")


@dataclass(frozen=True)
class CheckMeta:
    """Static metadata of one check: a kebab-case id that never changes, a one-line description, the
    ``verifier.yaml`` key of its section and the module that implements it."""

    id: str
    desc: str
    section: str
    module: str

    @property
    def docs_url(self) -> str:
        """Docs page of this check (one page per check under docs/checks/)."""
        return f"{DOCS_BASE}/{self.id}.md"

    def rule_url(self, rule: str) -> str:
        """Docs anchor of one rule id of this check."""
        return f"{self.docs_url}#{rule}"


class RunContext(Protocol):
    """What the pipeline offers a check during one evaluation (implemented by :mod:`verifier.pipeline`)."""

    @property
    def now(self) -> datetime:
        """The evaluation time (``--now`` or the current UTC time)."""

    @property
    def config(self) -> VerifierConfig:
        """The whole configuration (a check reads other sections, e.g. ``signers``, from here)."""

    @property
    def image(self) -> str | None:
        """The image being evaluated, or None when no image is configured."""

    @property
    def signer_set(self) -> str | None:
        """The named signer set the caller chose for the image (a webhook rule's), else None."""

    def image_evidence(self) -> ImageEvidence:
        """The image's evidence, collected once per evaluation and shared by every image check."""

    def release_evidence(self) -> dict[str, ImageEvidence]:
        """Each image of the release -> its evidence (the same objects the image checks read)."""

    def release_digests(self) -> dict[str, str]:
        """Every image of the release (``config.all_images``) -> the digest its reference resolves to,
        read once per evaluation (for checks that are not image checks but judge evidence about the
        release's images, e.g. scan reports); empty when the release has no image."""

    def record_input(self, uri: str, kind: str) -> None:
        """Note a file or image the check read (listed in the VSA's inputs)."""

    def notice(self, text: str) -> None:
        """Report an input that was deliberately not checked (listed in every report format)."""


class Check(abc.ABC, Generic[SectionT, EvidenceT]):
    """One check. Subclasses set the class attributes and implement :meth:`collect` and :meth:`judge`."""

    meta: ClassVar[CheckMeta]
    # The dataclass of this check's verifier.yaml section (validated by pydantic when a file is read), and
    # other forms the section may take (see section_type_for).
    section_type: ClassVar[type[Any]]
    section_alternatives: ClassVar[tuple[Any, ...]] = ()
    # True for checks about the image: they run once per image of the release, and without an image
    # they give verdict ``error`` (which denies).
    needs_image: ClassVar[bool] = False

    @property
    def id(self) -> str:
        """The check id (``meta.id``)."""
        return self.meta.id

    def reads_images(self, section: SectionT) -> bool:
        """Whether the check reads the release's images (the webhook and the audit of an image run the
        checks that do): the image checks, and others configured to (e.g. scans attested on the image)."""
        return self.needs_image

    def reads_attestations(self, section: SectionT) -> bool:
        """Whether the check reads the images' attestations (a lean lookup skips the cosign ``.att``
        tag otherwise)."""
        return False

    def section_type_for(self, value: Any) -> Any:
        """The type that validates the section as written: ``section_type`` unless the check has
        alternatives and tells them apart (its errors then speak of the form the user chose)."""
        return self.section_type

    @abc.abstractmethod
    def collect(self, section: SectionT, ctx: RunContext) -> EvidenceT:
        """Read what the check needs, through :mod:`verifier.sources` only (all I/O happens here).

        Raise :class:`~verifier.errors.InputError` for unreadable or malformed input (exit 2) and
        :class:`~verifier.errors.SourceError` when evidence cannot be reached (exit 3).
        """

    @abc.abstractmethod
    def judge(
        self, evidence: EvidenceT, section: SectionT, ctx: RunContext
    ) -> Sequence[CheckResult]:
        """Judge the evidence: pure, no I/O. Never an empty list when something was configured: a check
        that found nothing to judge says so with an ``error`` result."""

    def policy_config(self, section: SectionT, evidence: EvidenceT | None) -> dict[str, Any]:
        """The settings the Rego policy reads as ``input.config[<id>]`` (``evidence`` is None when the
        check did not collect, e.g. when its evidence could not be read)."""
        return {}

    def subject(self, section: SectionT, ctx: RunContext) -> str:
        """What the check is about, for an ``error`` result raised before it produced its own."""
        return ctx.image or self.id


def error_result(check_id: str, subject: str, reason: str) -> CheckResult:
    """Verdict ``error`` (denied by ``policies/verifier.rego``) with the reason in ``facts.error``."""
    return CheckResult(check=check_id, subject=subject, verdict="error", facts={"error": reason})
