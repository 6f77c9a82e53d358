"""The API Entreprise operations the sandbox serves, with their paths as in the official spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["json", "documents"]
IdKind = Literal["siren", "siret"]


@dataclass(frozen=True)
class Endpoint:
    name: str  # stable operation name, the same as the client's method
    path: str  # FastAPI path, the spec's path template
    id_kind: IdKind
    family: Family  # rate-limit family (research notes §4)
    provider: str  # errors[].meta.provider
    code_prefix: str  # first two digits of the provider's error codes (research notes §5)
    staging_dir: str  # payloads/<dir>, official staging cases
    privilege: str
    document_title: str | None = None  # set when the answer carries a PDF document_url
    document_ttl: int = 86400  # realistic `document_url_expires_in` / `expires_in`
    cached: bool = False  # answers carry X-Response-Cached / X-Cache-Expires-in


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "insee_unite_legale",
        "/v4/insee/sirene/unites_legales/{siren}",
        "siren",
        "json",
        "INSEE",
        "01",
        "api_entreprise_v4_insee_unites_legales",
        "unites_legales_etablissements_insee",
    ),
    Endpoint(
        "insee_etablissement",
        "/v4/insee/sirene/etablissements/{siret}",
        "siret",
        "json",
        "INSEE",
        "01",
        "api_entreprise_v4_insee_etablissements",
        "unites_legales_etablissements_insee",
    ),
    Endpoint(
        "infogreffe_extrait_rcs",
        "/v3/infogreffe/rcs/unites_legales/{siren}/extrait_kbis",
        "siren",
        "json",
        "Infogreffe",
        "02",
        "api_entreprise_v3_infogreffe_extraits_rcs",
        "extrait_rcs",
    ),
    Endpoint(
        "rnm_entreprise_artisanale",
        "/v3/cma_france/rnm/unites_legales/{siren}",
        "siren",
        "json",
        "RNM",
        "22",
        "api_entreprise_v3_rnm_entreprises_artisanales",
        "entreprises_artisanales",
    ),
    Endpoint(
        "inpi_extrait_rne",
        "/v3/inpi/rne/unites_legales/{siren}/extrait_rne",
        "siren",
        "documents",
        "INPI - RNE",
        "34",
        "api_entreprise_v3_inpi_rne_extrait_rne",
        "extrait_rne",
        "Attestation d'immatriculation au registre national des entreprises",
        86400,
    ),
    Endpoint(
        "urssaf_attestation_vigilance",
        "/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
        "siren",
        "documents",
        "ACOSS",
        "04",
        "api_entreprise_v4_acoss_attestations_sociales",
        "attestations_sociales",
        "Attestation de vigilance",
        86400,
        cached=True,
    ),
    Endpoint(
        "dgfip_attestation_fiscale",
        "/v4/dgfip/unites_legales/{siren}/attestation_fiscale",
        "siren",
        "documents",
        "DGFIP - Adélie",
        "03",
        "api_entreprise_v4_dgfip_attestations_fiscales",
        "attestations_fiscales",
        "Attestation de régularité fiscale",
        86400,
        cached=True,
    ),
    Endpoint(
        "msa_conformite_cotisations",
        "/v3/msa/etablissements/{siret}/conformite_cotisations",
        "siret",
        "json",
        "MSA",
        "10",
        "api_entreprise_v3_msa_conformites_cotisations",
        "msa_cotisations",
    ),
    Endpoint(
        "fntp_carte_professionnelle",
        "/v3/fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics",
        "siren",
        "documents",
        "FNTP",
        "12",
        "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics",
        "fntp_carte_pro",
        "Carte professionnelle travaux publics",
        7889238,
    ),
    Endpoint(
        "qualibat_certification",
        "/v4/qualibat/etablissements/{siret}/certification_batiment",
        "siret",
        "documents",
        "Qualibat",
        "06",
        "api_entreprise_v4_qualibat_certifications_batiment",
        "qualibat",
        "Certificat Qualibat",
        86400,
        cached=True,
    ),
    Endpoint(
        "ademe_rge",
        "/v3/ademe/etablissements/{siret}/certification_rge",
        "siret",
        "json",
        "ADEME",
        "19",
        "api_entreprise_v3_ademe_certificats_rge",
        "certificat_rge_ademe",
        "Certificat RGE",
        86400,
    ),
    Endpoint(
        "cnetp_attestation",
        "/v3/cnetp/unites_legales/{siren}/attestation_cotisations_conges_payes_chomage_intemperies",
        "siren",
        "documents",
        "CNETP",
        "08",
        "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies",
        "certificat_cnetp",
        "Attestation CNETP congés payés et chômage-intempéries",
        600,
    ),
    Endpoint(
        "cibtp_attestation",
        "/v3/cibtp/etablissements/{siret}/attestation_cotisations_conges_payes_chomage_intemperies",
        "siret",
        "documents",
        "CIBTP",
        "38",
        "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies",
        "certificat_cibtp",
        "Attestation CIBTP congés payés et chômage-intempéries",
        600,
    ),
    Endpoint(
        "opqibi_certification",
        "/v3/opqibi/unites_legales/{siren}/certification_ingenierie",
        "siren",
        "json",
        "OPQIBI",
        "11",
        "api_entreprise_v3_opqibi_certifications_ingenierie",
        "opqibi",
    ),
    Endpoint(
        "probtp_attestation",
        "/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite",
        "siret",
        "documents",
        "ProBTP",
        "09",
        "api_entreprise_v3_probtp_attestations_cotisation_retraite",
        "probtp",
        "Attestation de cotisations retraite PRO BTP",
        7889238,
    ),
    Endpoint(
        "probtp_conformite",
        "/v3/probtp/etablissements/{siret}/conformite_cotisations_retraite",
        "siret",
        "json",
        "ProBTP",
        "09",
        "api_entreprise_v3_probtp_conformites_cotisations_retraite",
        "probtp",
    ),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
