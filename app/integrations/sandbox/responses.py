"""Generated answers for any valid identifier, following its profile (see profiles.py).

Shapes are taken from the official staging payloads (used as templates); dates are relative
to `today` so a demo always looks current.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.integrations.sandbox import errors
from app.integrations.sandbox import profiles as p
from app.integrations.sandbox.endpoints import Endpoint
from app.integrations.sandbox.identifiers import head_office_siret
from app.integrations.sandbox.staging import find_case

# (title, company, identifier, valid_from, valid_until) -> absolute document URL
AttachDocument = Callable[[str, str, str, date | None, date | None], str]

_NAMES_A = ("BATIR", "ATELIERS", "RESEAUX", "ENERGIES", "TRAVAUX", "BUREAU", "ETUDES", "SOLUTIONS")
_NAMES_B = ("DU LITTORAL", "DE L'OUEST", "ALPINS", "DU CENTRE", "URBAINS", "DES DEUX RIVES")
_ACTIVITIES = (
    ("43.21A", "Travaux d'installation électrique dans tous locaux"),
    ("41.20A", "Construction de maisons individuelles"),
    ("42.11Z", "Construction de routes et autoroutes"),
    ("43.22A", "Travaux d'installation d'eau et de gaz en tous locaux"),
    ("71.12B", "Ingénierie, études techniques"),
    ("81.21Z", "Nettoyage courant des bâtiments"),
)
_FIRST_NAMES = ("CAMILLE", "DOMINIQUE", "CLAUDE", "SACHA", "ALIX", "MORGAN")
_LAST_NAMES = ("MARTIN", "BERNARD", "PETIT", "DURAND", "LEROY", "MOREAU")
# Which profiles deliver the sector certificates and the MSA / PRO BTP answers.
_NO_CERTIFICATES = {p.CEASED, p.OUT_OF_PERIMETER, p.UNKNOWN}
# Registers: entrepreneurs individuels are not on the RCS; who is on the RNM, who on no register.
_INDIVIDUALS = {p.ARTISAN, p.RNE_ONLY}
_NOT_ON_RCS = {p.ARTISAN, p.RNE_ONLY, p.UNREGISTERED}
_ON_RNM = {p.ARTISAN}
_NOT_ON_RNE = {p.UNREGISTERED}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _seed(siren: str) -> int:
    return int(hashlib.sha256(f"sandbox:{siren}".encode()).hexdigest()[:8], 16)


def company_name(siren: str) -> str:
    seed = _seed(siren)
    return f"{_NAMES_A[seed % len(_NAMES_A)]} {_NAMES_B[(seed >> 4) % len(_NAMES_B)]}"


def _person(siren: str) -> tuple[str, str]:
    seed = _seed(siren)
    return _FIRST_NAMES[seed % len(_FIRST_NAMES)], _LAST_NAMES[(seed >> 5) % len(_LAST_NAMES)]


def _activity(siren: str) -> tuple[str, str]:
    return _ACTIVITIES[(_seed(siren) >> 8) % len(_ACTIVITIES)]


def _timestamp(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def _end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def urssaf_validity(siren: str, today: date) -> tuple[date, date]:
    """Start a few weeks ago; end 6 months later at the end of that month (research §3.4)."""
    start = today - timedelta(days=5 + _seed(siren) % 50)
    month = start.month + 6
    year = start.year + (month - 1) // 12
    return start, _end_of_month(year, (month - 1) % 12 + 1)


def _template(endpoint: str, identifier: str) -> dict[str, Any]:
    case = find_case(endpoint, identifier)
    assert case is not None, f"missing staging template {endpoint}/{identifier}"
    return case.body()


def _unite_legale(siren: str, profile: str, today: date, base_url: str) -> dict[str, Any]:
    body = _template("insee_unite_legale", "552049447")
    data = body["data"]
    code, label = _activity(siren)
    created = today - timedelta(days=800 + _seed(siren) % 6000)
    siret = head_office_siret(siren)
    data.update(
        siren=siren,
        siret_siege_social=siret,
        categorie_entreprise="PME",
        etat_administratif="C" if profile == p.CEASED else "A",
        date_cessation=_timestamp(today - timedelta(days=40)) if profile == p.CEASED else None,
        date_creation=_timestamp(created),
        economie_sociale_et_solidaire=False,
    )
    if profile in _INDIVIDUALS:  # an entrepreneur individuel: a person, not a company name
        first, last = _person(siren)
        data["type"] = "personne_physique"
        data["personne_morale_attributs"] = {"raison_sociale": None, "sigle": None}
        data["personne_physique_attributs"] = {
            **data["personne_physique_attributs"],
            "prenom_usuel": first,
            "prenom_1": first,
            "nom_naissance": last,
        }
        data["forme_juridique"] = {"code": "1000", "libelle": "Entrepreneur individuel"}
    else:
        data["personne_morale_attributs"] = {"raison_sociale": company_name(siren), "sigle": None}
        data["forme_juridique"] = {"code": "5710", "libelle": "SAS, société par actions simplifiée"}
    activity = {"code": code, "libelle": label, "nomenclature": "NAFRev2"}
    data["activite_principale"] = dict(activity)
    data["activite_principale_naf_rev2"] = dict(activity)
    data["tranche_effectif_salarie"] = {
        "de": 20,
        "a": 49,
        "code": "12",
        "date_reference": str(today.year - 1),
        "intitule": "20 à 49 salariés",
    }
    body["links"] = {
        "siege_social": f"{base_url}/v4/insee/sirene/etablissements/{siret}",
        "siege_social_adresse": f"{base_url}/v4/insee/sirene/etablissements/{siret}/adresse",
    }
    body["meta"] = {"date_derniere_mise_a_jour": _timestamp(today), "redirect_from_siren": None}
    return body


def _etablissement(siret: str, profile: str, today: date, base_url: str) -> dict[str, Any]:
    siren = siret[:9]
    body = _template("insee_etablissement", "55204944776279")
    data = body["data"]
    unite = _unite_legale(siren, profile, today, base_url)["data"]
    data.update(
        siret=siret,
        siege_social=siret == head_office_siret(siren),
        etat_administratif="F" if profile == p.CEASED else "A",
        date_fermeture=unite["date_cessation"],
        enseigne=None,
        activite_principale=unite["activite_principale"],
        activite_principale_naf_rev2=unite["activite_principale_naf_rev2"],
        tranche_effectif_salarie=unite["tranche_effectif_salarie"],
        date_creation=unite["date_creation"],
    )
    data["unite_legale"] = {k: v for k, v in unite.items() if k in data["unite_legale"]}
    # The official example's address, with a street number of the SIREN's own (deterministic).
    address = data["adresse"]
    address["numero_voie"] = str(1 + _seed(siren) % 150)
    address["acheminement_postal"]["l1"] = company_name(siren)
    street = (address["numero_voie"], address["type_voie"], address["libelle_voie"])
    address["acheminement_postal"]["l4"] = " ".join(street)
    body["links"] = {"unite_legale": f"{base_url}/v4/insee/sirene/unites_legales/{siren}"}
    body["meta"] = {"date_derniere_mise_a_jour": _timestamp(today), "redirect_from_siret": None}
    return body


def _extrait_rcs(siren: str, profile: str, today: date) -> dict[str, Any]:
    body = _template("infogreffe_extrait_rcs", "552049447")
    data = body["data"]
    code, label = _activity(siren)
    data.update(
        siren=siren,
        date_extrait=today.isoformat(),
        date_immatriculation=(today - timedelta(days=800 + _seed(siren) % 6000)).isoformat(),
        date_radiation=(today - timedelta(days=90)).isoformat()
        if profile == p.STRUCK_OFF
        else None,
        nom_commercial=company_name(siren),
        observations=[],
    )
    data["etablissement_principal"]["activite"] = label
    data["etablissement_principal"]["code_ape"] = code.replace(".", "")
    data["personne_morale"]["denomination"] = company_name(siren)
    note = _proceedings_note(siren, profile, today)
    if note is not None:
        text, opened = note
        data["observations"] = [
            {"numero": f"{_seed(siren) % 1000000:06d}", "libelle": text, "date": opened}
        ]
    return body


def _proceedings_note(siren: str, profile: str, today: date) -> tuple[str, str] | None:
    """The registrar's note of an opening judgment, as the RCS and the RNE carry it."""
    opened = today - timedelta(days=30)
    stopped = (opened - timedelta(days=20)).isoformat()
    texts = {
        p.COLLECTIVE_PROCEEDINGS: "Jugement d'ouverture d'une procédure de redressement "
        f"judiciaire, date de cessation des paiements le {stopped}",
        p.LIQUIDATION: "Jugement d'ouverture d'une procédure de liquidation judiciaire, "
        f"date de cessation des paiements le {stopped}",
        p.SAUVEGARDE: "Jugement d'ouverture d'une procédure de sauvegarde",
    }
    return (texts[profile], opened.isoformat()) if profile in texts else None


def _extrait_rne(
    siren: str, profile: str, today: date, attach: AttachDocument, title: str
) -> dict[str, Any]:
    body = _template("inpi_extrait_rne", "552049447")
    data = body["data"]
    identity = data["identite_entreprise"]
    registered = today - timedelta(days=800 + _seed(siren) % 6000)
    code, label = _activity(siren)
    individual = profile in _INDIVIDUALS
    first, last = _person(siren)
    identity.update(
        denomination=None if individual else company_name(siren),
        nom=last if individual else None,
        prenoms=[first] if individual else [],
        siren=siren,
        date_immatriculation_rne=registered.isoformat(),
        date_debut_activite=registered.isoformat(),
        # A company is formed for at most 99 years (art. 1838 C. civ.).
        date_fin_personne=None
        if individual
        else registered.replace(year=registered.year + 99, day=1).isoformat(),
        nature_entreprise={p.ARTISAN: "ARTISANALE", p.RNE_ONLY: "LIBERALE"}.get(
            profile, "COMMERCIALE"
        ),
        forme_juridique={"code": "1000", "libelle": "Entrepreneur individuel"}
        if individual
        else {"code": "5710", "libelle": "SAS, société par actions simplifiée"},
        activite_principales_objet_social=label,
    )
    identity["code_APE"] = {"code": code.replace(".", ""), "libelle": label}
    establishment = data["etablissements"][0]
    establishment.update(
        siret=head_office_siret(siren),
        date_debut_activite=registered.isoformat(),
        activite_principale=label,
        nature_etablissement=identity["nature_entreprise"],
    )
    establishment["code_APE"] = dict(identity["code_APE"])
    data["etablissements"] = [establishment]
    note = _proceedings_note(siren, profile, today)
    data["observations"] = (
        [
            {
                "fournisseur": "rcs",
                "numero": f"{today.year}-{_seed(siren) % 1000:03d}",
                "date": note[1],
                "texte": note[0],
            }
        ]
        if note
        else []
    )
    name = " ".join([first, last]) if individual else company_name(siren)
    data["document_url"] = attach(title, name, siren, registered, None)
    return body


def _envelope(data: Any) -> dict[str, Any]:
    return {"data": data, "links": {}, "meta": {}}


def build_answer(
    endpoint: Endpoint,
    identifier: str,
    today: date,
    base_url: str,
    attach: AttachDocument,
    ttl: int,
) -> Answer:
    """The generated answer for `identifier` on `endpoint`, following its SIREN's profile."""
    siren = identifier[:9]
    profile = p.profile_for(siren)
    name = company_name(siren)
    if profile == p.UNKNOWN:
        return Answer(404, errors.not_found(endpoint))
    if profile == p.NON_DIFFUSIBLE and endpoint.name.startswith("insee_"):
        return Answer(451, errors.unavailable_for_legal_reasons(endpoint))
    match endpoint.name:
        case "insee_unite_legale":
            return Answer(200, _unite_legale(siren, profile, today, base_url))
        case "insee_etablissement":
            return Answer(200, _etablissement(identifier, profile, today, base_url))
        case "infogreffe_extrait_rcs":
            if profile in _NOT_ON_RCS:
                return Answer(404, errors.not_found(endpoint))
            return Answer(200, _extrait_rcs(siren, profile, today))
        case "rnm_entreprise_artisanale":
            if profile not in _ON_RNM:
                return Answer(404, errors.not_found(endpoint))
            return Answer(200, _envelope({"modalite_exercice": "P", "non_sedentaire": "0"}))
        case "inpi_extrait_rne":
            if profile in _NOT_ON_RNE:
                return Answer(404, errors.not_found(endpoint))
            title = endpoint.document_title or ""
            return Answer(200, _extrait_rne(siren, profile, today, attach, title))
        case "urssaf_attestation_vigilance":
            return _urssaf(endpoint, identifier, profile, today, attach, ttl)
        case "dgfip_attestation_fiscale":
            if profile in (p.CEASED, p.OUT_OF_PERIMETER):
                return Answer(404, errors.not_found(endpoint))
            analysed = today.replace(day=1) - timedelta(days=1)
            url = attach(endpoint.document_title or "", name, identifier, today, None)
            return Answer(
                200,
                _envelope(
                    {
                        "document_url": url,
                        "document_url_expires_in": ttl,
                        "date_delivrance_attestation": today.isoformat(),
                        "date_periode_analysee": analysed.isoformat(),
                    }
                ),
            )
    if profile in _NO_CERTIFICATES:
        return Answer(404, errors.not_found(endpoint))
    return _certificate(endpoint, identifier, today, attach, ttl, name)


def _urssaf(
    endpoint: Endpoint,
    siren: str,
    profile: str,
    today: date,
    attach: AttachDocument,
    ttl: int,
) -> Answer:
    if profile in (p.CEASED, p.OUT_OF_PERIMETER, p.STRUCK_OFF):
        return Answer(404, errors.not_found(endpoint))
    if profile == p.MANUAL_REVIEW:
        return Answer(502, errors.manual_review())
    if profile == p.URSSAF_REFUSED:
        body = _template(endpoint.name, "000000026")  # official refusal case
        return Answer(200, body)
    body = _template(endpoint.name, "000000018")  # official delivered case
    start, end = urssaf_validity(siren, today)
    body["data"].update(
        document_url=attach(endpoint.document_title or "", company_name(siren), siren, start, end),
        document_url_expires_in=ttl,
        date_debut_validite=start.isoformat(),
        date_fin_validite=end.isoformat(),
        code_securite=hashlib.sha256(siren.encode()).hexdigest()[:15].upper(),
    )
    return Answer(200, body)


def _certificate(
    endpoint: Endpoint,
    identifier: str,
    today: date,
    attach: AttachDocument,
    ttl: int,
    name: str,
) -> Answer:
    issued = today - timedelta(days=60 + _seed(identifier) % 200)
    until = issued + timedelta(days=365)
    title = endpoint.document_title or ""
    match endpoint.name:
        case "msa_conformite_cotisations":
            return Answer(200, _envelope({"status": "up_to_date"}))
        case "probtp_conformite":
            return Answer(200, _envelope({"eligible": True}))
        case (
            "fntp_carte_professionnelle"
            | "cnetp_attestation"
            | "cibtp_attestation"
            | ("probtp_attestation")
        ):
            url = attach(title, name, identifier, issued, until)
            return Answer(200, _envelope({"document_url": url, "expires_in": ttl}))
        case "qualibat_certification":
            body = _template(endpoint.name, "30613890001294")
            body["data"].update(
                document_url=attach(title, name, identifier, issued, until),
                document_url_expires_in=ttl,
                date_emission=issued.isoformat(),
                date_fin_validite=until.isoformat(),
            )
            body["data"]["entity"]["certifications"][0]["date_attribution"] = (
                issued - timedelta(days=365)
            ).isoformat()
            return Answer(200, body)
        case "ademe_rge":
            body = _template(endpoint.name, "13002526500013")
            item = body["data"][0]
            attributed = today - timedelta(days=300)
            expires = today + timedelta(days=430)
            item["data"].update(
                url=attach(title, name, identifier, attributed, expires),
                date_attribution=attributed.isoformat(),
                date_expiration=expires.isoformat(),
            )
            item["data"]["meta"]["updated_at"] = attributed.isoformat()
            body["data"] = [item]
            return Answer(200, body)
        case "opqibi_certification":
            body = _template(endpoint.name, "130025265")
            body["data"].update(
                numero_certificat=f"{_seed(identifier) % 100000:05d}",
                date_delivrance_certificat=issued.isoformat(),
                date_validite_qualifications=(issued + timedelta(days=4 * 365)).isoformat(),
                qualifications_probatoires=[],
                date_validite_qualifications_probatoires=None,
            )
            return Answer(200, body)
    raise ValueError(f"no generator for {endpoint.name}")  # pragma: no cover
