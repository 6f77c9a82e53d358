"""Typed `data` of each API Entreprise operation, built from the official OpenAPI spec
(tests/data/api_entreprise/api_entreprise.yaml). Attributes are English; the upstream (French)
names are the aliases, so `Model.model_validate(payload["data"])` reads an answer as it comes.

Fields the spec marks `required` have no default: a 200 missing one does not parse (→ BUG)."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class UpstreamModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


# --- INSEE Sirene (v4) ------------------------------------------------------------------------


class Activity(UpstreamModel):
    code: str | None
    label: str = Field(alias="libelle")
    nomenclature: str | None


class LegalForm(UpstreamModel):
    code: str
    label: str = Field(alias="libelle")


class Headcount(UpstreamModel):
    code: str | None
    label: str | None = Field(alias="intitule")
    reference_year: str | None = Field(alias="date_reference")
    low: int | None = Field(alias="de")
    high: int | None = Field(alias="a")


class MoralPersonAttributes(UpstreamModel):
    company_name: str | None = Field(alias="raison_sociale")
    acronym: str | None = Field(alias="sigle")


class NaturalPersonAttributes(UpstreamModel):
    pseudonym: str | None = Field(alias="pseudonyme")
    usual_first_name: str | None = Field(alias="prenom_usuel")
    first_name: str | None = Field(alias="prenom_1")
    usage_name: str | None = Field(alias="nom_usage")
    birth_name: str | None = Field(alias="nom_naissance")


class InseeUniteLegale(UpstreamModel):
    """`GET /v4/insee/sirene/unites_legales/{siren}`. `etat_administratif`: A active, C ceased."""

    siren: str
    rna: str | None
    head_office_siret: str = Field(alias="siret_siege_social")
    type: str  # personne_morale | personne_physique
    moral_person: MoralPersonAttributes = Field(alias="personne_morale_attributs")
    natural_person: NaturalPersonAttributes = Field(alias="personne_physique_attributs")
    category: str | None = Field(alias="categorie_entreprise")
    diffusion_status: str = Field(alias="status_diffusion")
    commercially_diffusible: bool = Field(alias="diffusable_commercialement")
    legal_form: LegalForm = Field(alias="forme_juridique")
    main_activity: Activity = Field(alias="activite_principale")
    headcount: Headcount = Field(alias="tranche_effectif_salarie")
    administrative_state: str = Field(alias="etat_administratif")
    social_economy: bool | None = Field(alias="economie_sociale_et_solidaire")
    created_on_ts: int | None = Field(alias="date_creation")  # UNIX timestamp
    ceased_on_ts: int | None = Field(alias="date_cessation")  # UNIX timestamp

    @property
    def name(self) -> str | None:
        if self.type == "personne_morale":
            return self.moral_person.company_name
        parts = [self.natural_person.first_name, self.natural_person.birth_name]
        return " ".join(p for p in parts if p) or None

    @property
    def active(self) -> bool:
        return self.administrative_state == "A"


class EtablissementUniteLegale(UpstreamModel):
    siren: str
    type: str
    moral_person: MoralPersonAttributes = Field(alias="personne_morale_attributs")
    diffusion_status: str = Field(alias="status_diffusion")
    legal_form: LegalForm = Field(alias="forme_juridique")
    administrative_state: str = Field(alias="etat_administratif")


class Address(UpstreamModel):
    street_number: str | None = Field(None, alias="numero_voie")
    street_type: str | None = Field(None, alias="type_voie")
    street_name: str | None = Field(None, alias="libelle_voie")
    postcode: str | None = Field(None, alias="code_postal")
    city_code: str | None = Field(None, alias="code_commune")
    city: str | None = Field(None, alias="libelle_commune")


class InseeEtablissement(UpstreamModel):
    """`GET /v4/insee/sirene/etablissements/{siret}`. `etat_administratif`: A open, F closed."""

    siret: str
    head_office: bool = Field(alias="siege_social")
    administrative_state: str = Field(alias="etat_administratif")
    closed_on_ts: int | None = Field(alias="date_fermeture")
    main_activity: Activity = Field(alias="activite_principale")
    headcount: Headcount = Field(alias="tranche_effectif_salarie")
    diffusion_status: str = Field(alias="status_diffusion")
    commercially_diffusible: bool = Field(alias="diffusable_commercialement")
    sign: str | None = Field(alias="enseigne")
    legal_unit: EtablissementUniteLegale = Field(alias="unite_legale")
    address: Address = Field(alias="adresse")
    created_on_ts: int | None = Field(alias="date_creation")

    @property
    def active(self) -> bool:
        return self.administrative_state == "A"


# --- Infogreffe extrait RCS (v3) -------------------------------------------------------------


class Observation(UpstreamModel):
    number: str | None = Field(None, alias="numero")
    label: str | None = Field(None, alias="libelle")
    date: str | None = None


class Registry(UpstreamModel):
    label: str = Field(alias="valeur")
    code: str


class InfogreffeExtraitRcs(UpstreamModel):
    """`GET /v3/infogreffe/rcs/unites_legales/{siren}/extrait_kbis` (JSON, no PDF).
    `date_radiation` set = struck off; `observations` carry collective proceedings."""

    siren: str
    struck_off_on: date | None = Field(alias="date_radiation")
    extract_date: date | None = Field(alias="date_extrait")
    registered_on: date | None = Field(alias="date_immatriculation")
    observations: list[Observation] = Field(default_factory=list)
    trade_name: str | None = Field(None, alias="nom_commercial")
    registry: Registry | None = Field(None, alias="greffe")


# --- Répertoire national des métiers (CMA France, v3) ------------------------------------------


class RnmEntrepriseArtisanale(UpstreamModel):
    """`GET /v3/cma_france/rnm/unites_legales/{siren}` (marked `deprecated` in the spec): a 200
    means the company is on the répertoire des métiers; the answer itself has two fields only."""

    activity_mode: str = Field(alias="modalite_exercice")  # P permanent, S seasonal, NR
    itinerant: str = Field(alias="non_sedentaire")  # "0" sedentary, "1" itinerant


# --- Registre national des entreprises (INPI, v3) ---------------------------------------------


class RneDissolution(UpstreamModel):
    dissolved_on: date | None = Field(alias="date")
    activity_continues: bool | None = Field(alias="poursuite_activite")
    with_liquidation: bool | None = Field(alias="avec_liquidation")  # always null (spec)


class RneIdentity(UpstreamModel):
    company_name: str | None = Field(alias="denomination")
    last_name: str | None = Field(alias="nom")
    first_names: list[str] | None = Field(alias="prenoms")
    siren: str
    registered_on: date = Field(alias="date_immatriculation_rne")
    activity_started_on: date | None = Field(alias="date_debut_activite")
    dissolution: RneDissolution
    legal_person_ends_on: date | None = Field(alias="date_fin_personne")
    nature: str = Field(alias="nature_entreprise")  # COMMERCIALE | ARTISANALE | AGRICOLE | LIBERALE
    legal_form: LegalForm = Field(alias="forme_juridique")


class RneObservation(UpstreamModel):
    """A registrar's note (RCS or RNM, per `fournisseur`); every field optional in the spec."""

    provider: str | None = Field(None, alias="fournisseur")  # rcs | rnm
    number: str | None = Field(None, alias="numero")
    date: str | None = None  # kept as text: read by `proceedings.read_proceedings`
    text: str | None = Field(None, alias="texte")


class RneEstablishment(UpstreamModel):
    siret: str | None = None
    kind: str | None = Field(None, alias="type_etablissement")
    state: str | None = Field(None, alias="statut")  # actif | fermé


class RneManager(UpstreamModel):
    role: str | None = Field(None, alias="qualite")  # names and birth dates are not read


class InpiExtraitRne(UpstreamModel):
    """`GET /v3/inpi/rne/unites_legales/{siren}/extrait_rne`: the registration certificate of the
    national register (JSON, and a PDF at `document_url`); `observations` carry the registrars'
    notes, collective proceedings included."""

    document_url: str
    identity: RneIdentity = Field(alias="identite_entreprise")
    managers: list[RneManager] = Field(alias="dirigeants_et_associes")
    establishments: list[RneEstablishment] = Field(alias="etablissements")
    commercially_diffusible: bool = Field(alias="diffusion_commerciale")
    insee_diffusible: bool = Field(alias="diffusion_insee")
    closed_establishments: int = Field(alias="etablissements_fermes_total")
    observations: list[RneObservation]


# --- Attestations and certificates -----------------------------------------------------------


class EntityStatus(UpstreamModel):
    code: str  # "ok" | "refus_de_delivrance"
    label: str = Field(alias="libelle")
    description: str


class UrssafAttestationVigilance(UpstreamModel):
    """`GET /v4/urssaf/unites_legales/{siren}/attestation_vigilance` (additionalProperties: false)."""

    document_url: str | None
    document_url_expires_in: int | None
    valid_from: date | None = Field(alias="date_debut_validite")
    valid_until: date | None = Field(alias="date_fin_validite")
    security_code: str | None = Field(alias="code_securite")
    entity_status: EntityStatus


class DgfipAttestationFiscale(UpstreamModel):
    """`GET /v4/dgfip/unites_legales/{siren}/attestation_fiscale`."""

    document_url: str
    document_url_expires_in: int | None = None
    issued_on: date = Field(alias="date_delivrance_attestation")
    analysed_period_end: date | None = Field(None, alias="date_periode_analysee")


class MsaConformiteCotisations(UpstreamModel):
    """`GET /v3/msa/etablissements/{siret}/conformite_cotisations`."""

    status: str  # up_to_date | outdated | under_investigation


class DocumentLink(UpstreamModel):
    """FNTP, CNETP, PRO BTP attestation: `{document_url, expires_in}` (both required)."""

    document_url: str
    expires_in: int


class CibtpAttestation(UpstreamModel):
    """CIBTP: the same shape, but both fields are nullable (no attestation available)."""

    document_url: str | None
    expires_in: int | None


class Insurance(UpstreamModel):
    name: str | None = Field(alias="nom")
    identifier: str | None = Field(alias="identifiant")


class QualibatCertification(UpstreamModel):
    code: str | None = None
    label: str | None = Field(None, alias="libelle")
    rge: bool | None = None
    awarded_on: date | None = Field(None, alias="date_attribution")


class QualibatEntity(UpstreamModel):
    works_insurance: Insurance = Field(alias="assurance_responsabilite_travaux")
    civil_insurance: Insurance = Field(alias="assurance_responsabilite_civile")
    certifications: list[QualibatCertification | None]


class QualibatCertificationBatiment(UpstreamModel):
    """`GET /v4/qualibat/etablissements/{siret}/certification_batiment`."""

    document_url: str
    document_url_expires_in: int
    issued_on: date | None = Field(alias="date_emission")
    valid_until: date | None = Field(alias="date_fin_validite")
    entity: QualibatEntity


class RgeQualification(UpstreamModel):
    code: str
    name: str = Field(alias="nom")


class RgeMeta(UpstreamModel):
    internal_id: str
    updated_at: str
    archived: bool


class RgeCertificate(UpstreamModel):
    url: str
    certificate_name: str = Field(alias="nom_certificat")
    domain: str = Field(alias="domaine")
    meta_domain: str = Field(alias="meta_domaine")
    qualification: RgeQualification
    body: str = Field(alias="organisme")
    awarded_on: date = Field(alias="date_attribution")
    expires_on: date = Field(alias="date_expiration")
    meta: RgeMeta


class RgeItem(UpstreamModel):
    data: RgeCertificate


class AdemeCertificationRge(UpstreamModel):
    """`GET /v3/ademe/etablissements/{siret}/certification_rge`: `data` is a list (every
    certificate since 2014, archived ones included); wrapped here as `certificates`."""

    certificates: list[RgeItem]

    def current(self, today: date) -> list[RgeCertificate]:
        return [
            item.data
            for item in self.certificates
            if not item.data.meta.archived and item.data.expires_on >= today
        ]


class OpqibiQualification(UpstreamModel):
    name: str | None = Field(None, alias="nom")
    code: str | None = Field(None, alias="code_qualification")
    definition: str | None = None
    rge: bool | None = None


class OpqibiCertificationIngenierie(UpstreamModel):
    """`GET /v3/opqibi/unites_legales/{siren}/certification_ingenierie` (a web page, no PDF)."""

    certificate_number: str = Field(alias="numero_certificat")
    url: str
    issued_on: date = Field(alias="date_delivrance_certificat")
    validity: str = Field(alias="duree_validite_certificat")
    insurances: str = Field(alias="assurances")
    qualifications: list[OpqibiQualification]
    qualifications_valid_until: date = Field(alias="date_validite_qualifications")
    probationary_qualifications: list[OpqibiQualification] = Field(
        alias="qualifications_probatoires"
    )
    probationary_valid_until: date | None = Field(alias="date_validite_qualifications_probatoires")


class ProbtpConformite(UpstreamModel):
    """`GET /v3/probtp/etablissements/{siret}/conformite_cotisations_retraite`."""

    eligible: bool


class Privileges(UpstreamModel):
    """`GET /privileges`: `{"privileges": [...]}` (the doc's shape; the spec gives no schema)."""

    privileges: list[str]
