"""The operations Vigie calls: path, family (rate limit), provider (breaker), model, and how a
delivered answer reads (validity window, security code, document link, refusal)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal

from pydantic import BaseModel

from app.integrations.api_entreprise import schemas as s
from app.integrations.api_entreprise.outcomes import OutcomeKind
from app.integrations.api_entreprise.ratelimit import Family


@dataclass(frozen=True)
class Reading:
    """What a 200 means beyond its data."""

    kind: OutcomeKind = OutcomeKind.DELIVERED
    valid_from: date | None = None
    valid_until: date | None = None
    security_code: str | None = None
    document_url: str | None = None
    message: str | None = None
    retry_in: int | None = None  # seconds, for a PENDING reading


def _plain(_: BaseModel) -> Reading:
    return Reading()


def _urssaf(m: BaseModel) -> Reading:
    assert isinstance(m, s.UrssafAttestationVigilance)
    if m.entity_status.code == "refus_de_delivrance":
        return Reading(OutcomeKind.REFUSED, message=m.entity_status.label)
    return Reading(
        valid_from=m.valid_from,
        valid_until=m.valid_until,
        security_code=m.security_code,
        document_url=m.document_url,
    )


def _dgfip(m: BaseModel) -> Reading:
    assert isinstance(m, s.DgfipAttestationFiscale)
    return Reading(valid_from=m.issued_on, document_url=m.document_url)


def _msa(m: BaseModel) -> Reading:
    assert isinstance(m, s.MsaConformiteCotisations)
    if m.status == "outdated":
        return Reading(OutcomeKind.REFUSED, message="Entreprise non à jour de ses cotisations MSA")
    if m.status == "under_investigation":
        # An MSA agent is reviewing the account: like URSSAF's manual review (48 h).
        return Reading(
            OutcomeKind.PENDING, message="Situation en cours d'analyse par la MSA", retry_in=172800
        )
    return Reading()


def _document_link(m: BaseModel) -> Reading:
    assert isinstance(m, s.DocumentLink | s.CibtpAttestation)
    if m.document_url is None:  # CIBTP: no attestation available
        return Reading(OutcomeKind.UNAVAILABLE, message="Attestation non disponible")
    return Reading(document_url=m.document_url)


def _rne(m: BaseModel) -> Reading:
    assert isinstance(m, s.InpiExtraitRne)
    return Reading(document_url=m.document_url)


def _qualibat(m: BaseModel) -> Reading:
    assert isinstance(m, s.QualibatCertificationBatiment)
    return Reading(valid_from=m.issued_on, valid_until=m.valid_until, document_url=m.document_url)


def _opqibi(m: BaseModel) -> Reading:
    assert isinstance(m, s.OpqibiCertificationIngenierie)
    return Reading(valid_from=m.issued_on, valid_until=m.qualifications_valid_until)


def _ademe(m: BaseModel) -> Reading:
    assert isinstance(m, s.AdemeCertificationRge)
    live = [i.data for i in m.certificates if not i.data.meta.archived]
    if not live:
        return Reading()
    return Reading(
        valid_from=min(c.awarded_on for c in live), valid_until=max(c.expires_on for c in live)
    )


def _probtp_conformite(m: BaseModel) -> Reading:
    assert isinstance(m, s.ProbtpConformite)
    if not m.eligible:
        return Reading(OutcomeKind.REFUSED, message="Entreprise non à jour de ses cotisations")
    return Reading()


@dataclass(frozen=True)
class Operation:
    name: str
    path: str  # OpenAPI template, "{siren}" or "{siret}"
    id_kind: Literal["siren", "siret"]
    family: Family
    provider: str
    model: type[s.UpstreamModel]
    read: Callable[[BaseModel], Reading] = _plain
    not_found: OutcomeKind = OutcomeKind.UNAVAILABLE
    maintenance: tuple[time, time] | None = None  # Europe/Paris, spec `x-maintenances`
    list_data: bool = False  # `data` is a list (ADEME)
    extra_params: dict[str, str] = field(default_factory=dict)
    # Hosts this operation's `document_url` may point at, beyond the configured ones (the spec
    # documents them per operation: the RNE certificate is served by data.inpi.fr).
    document_hosts: tuple[str, ...] = ()
    # The JSON answer proves the fact by itself and the PDF is a copy of it: when the PDF cannot
    # be had, keep the answer (archived as JSON) rather than wait or fail.
    document_optional: bool = False


J, D = Family.JSON, Family.DOCUMENTS
CONGES = "attestation_cotisations_conges_payes_chomage_intemperies"

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "insee_unite_legale",
            "/v4/insee/sirene/unites_legales/{siren}",
            "siren",
            J,
            "insee",
            s.InseeUniteLegale,
            not_found=OutcomeKind.UNKNOWN_ENTITY,
        ),
        Operation(
            "insee_etablissement",
            "/v4/insee/sirene/etablissements/{siret}",
            "siret",
            J,
            "insee",
            s.InseeEtablissement,
            not_found=OutcomeKind.UNKNOWN_ENTITY,
        ),
        Operation(
            "infogreffe_extrait_rcs",
            "/v3/infogreffe/rcs/unites_legales/{siren}/extrait_kbis",
            "siren",
            J,
            "infogreffe",
            s.InfogreffeExtraitRcs,
        ),
        Operation(
            "rnm_entreprise_artisanale",
            "/v3/cma_france/rnm/unites_legales/{siren}",
            "siren",
            J,
            "cma_france",
            s.RnmEntrepriseArtisanale,
        ),
        Operation(
            "inpi_extrait_rne",
            "/v3/inpi/rne/unites_legales/{siren}/extrait_rne",
            "siren",
            D,
            "inpi",
            s.InpiExtraitRne,
            _rne,
            document_hosts=("data.inpi.fr",),
            document_optional=True,
        ),
        Operation(
            "urssaf_attestation_vigilance",
            "/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
            "siren",
            D,
            "urssaf",
            s.UrssafAttestationVigilance,
            _urssaf,
        ),
        Operation(
            "dgfip_attestation_fiscale",
            "/v4/dgfip/unites_legales/{siren}/attestation_fiscale",
            "siren",
            D,
            "dgfip",
            s.DgfipAttestationFiscale,
            _dgfip,
            maintenance=(time(1, 0), time(2, 0)),
        ),
        Operation(
            "msa_conformite_cotisations",
            "/v3/msa/etablissements/{siret}/conformite_cotisations",
            "siret",
            J,
            "msa",
            s.MsaConformiteCotisations,
            _msa,
            maintenance=(time(3, 0), time(3, 30)),
        ),
        Operation(
            "fntp_carte_professionnelle",
            "/v3/fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics",
            "siren",
            D,
            "fntp",
            s.DocumentLink,
            _document_link,
        ),
        Operation(
            "qualibat_certification",
            "/v4/qualibat/etablissements/{siret}/certification_batiment",
            "siret",
            D,
            "qualibat",
            s.QualibatCertificationBatiment,
            _qualibat,
        ),
        Operation(
            "ademe_rge",
            "/v3/ademe/etablissements/{siret}/certification_rge",
            "siret",
            J,
            "ademe",
            s.AdemeCertificationRge,
            _ademe,
            list_data=True,
        ),
        Operation(
            "cnetp_attestation",
            f"/v3/cnetp/unites_legales/{{siren}}/{CONGES}",
            "siren",
            D,
            "cnetp",
            s.DocumentLink,
            _document_link,
            maintenance=(time(6, 0), time(6, 30)),
        ),
        Operation(
            "cibtp_attestation",
            f"/v3/cibtp/etablissements/{{siret}}/{CONGES}",
            "siret",
            D,
            "cibtp",
            s.CibtpAttestation,
            _document_link,
        ),
        Operation(
            "opqibi_certification",
            "/v3/opqibi/unites_legales/{siren}/certification_ingenierie",
            "siren",
            J,
            "opqibi",
            s.OpqibiCertificationIngenierie,
            _opqibi,
        ),
        Operation(
            "probtp_attestation",
            "/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite",
            "siret",
            D,
            "probtp",
            s.DocumentLink,
            _document_link,
        ),
        Operation(
            "probtp_conformite",
            "/v3/probtp/etablissements/{siret}/conformite_cotisations_retraite",
            "siret",
            J,
            "probtp",
            s.ProbtpConformite,
            _probtp_conformite,
        ),
    )
}

PRIVILEGES = Operation("privileges", "/privileges", "siren", J, "api_entreprise", s.Privileges)
