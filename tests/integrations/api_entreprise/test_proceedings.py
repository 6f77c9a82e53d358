"""Collective proceedings read from the registrars' notes (RCS `observations[].libelle`, RNE
`observations[].texte`): which one is in course, and the date of its latest judgment."""

from datetime import date

import pytest

from app.integrations.api_entreprise.proceedings import ProceedingsKind, read_proceedings

L, R, S, OTHER = (
    ProceedingsKind.LIQUIDATION,
    ProceedingsKind.REDRESSEMENT,
    ProceedingsKind.SAUVEGARDE,
    ProceedingsKind.OTHER,
)


@pytest.mark.parametrize(
    ("notes", "kind", "judged_on"),
    [
        # The staging payloads' notes: none is a collective proceedings.
        ([("LA SOCIETE NE CONSERVE AUCUNE ACTIVITE A SON ANCIEN SIEGE", "2020-01-01")], None, None),
        ([("Augmentation de capital de 50000 à 75000 EUR", "2023-05-20")], None, None),
        ([], None, None),
        # Opening judgments, as greffes write them (accents or not, any case).
        (
            [("Jugement d'ouverture d'une procédure de sauvegarde", "2025-02-03")],
            S,
            date(2025, 2, 3),
        ),
        (
            [("JUGEMENT D'OUVERTURE D'UNE PROCEDURE DE REDRESSEMENT JUDICIAIRE", "2025-02-03")],
            R,
            date(2025, 2, 3),
        ),
        (
            [("Jugement prononçant la liquidation judiciaire simplifiée", "2025-02-03")],
            L,
            date(2025, 2, 3),
        ),
        ([("Ouverture d'une procédure collective", "2025-02-03")], OTHER, date(2025, 2, 3)),
        # Not collective proceedings.
        ([("Dissolution anticipée, mise en liquidation amiable", "2025-02-03")], None, None),
        ([("Mise sous sauvegarde de justice de l'exploitant", "2025-02-03")], None, None),
        ([("Modification de la date de clôture de l'exercice social", "2025-02-03")], None, None),
    ],
)
def test_one_note(notes, kind, judged_on) -> None:
    got = read_proceedings(notes)
    assert (got.kind, got.judged_on) == (kind, judged_on)
    assert got.collective is (kind is not None)
    assert got.liquidation is (kind is L)


def test_the_latest_judgment_decides_whatever_the_order_given() -> None:
    notes = [
        ("Jugement prononçant la conversion en liquidation judiciaire", "2025-06-10"),
        ("Jugement d'ouverture d'une procédure de sauvegarde", "2024-01-15"),
        ("Jugement de conversion de la sauvegarde en redressement judiciaire", "2025-01-20"),
    ]
    got = read_proceedings(notes)
    assert (got.kind, got.judged_on) == (L, date(2025, 6, 10))
    assert got.note == notes[0][0]
    # A plan adopted: the same proceedings, dated by the judgment that opened them.
    plan = read_proceedings(
        [
            ("Jugement d'ouverture d'une procédure de redressement judiciaire", "2023-03-01"),
            ("Jugement arrêtant le plan de redressement, durée 8 ans", "2023-11-20"),
        ]
    )
    assert (plan.kind, plan.judged_on) == (R, date(2023, 3, 1))
    continued = read_proceedings(
        [
            ("Jugement d'ouverture d'une procédure de sauvegarde", "2023-03-01"),
            ("Jugement arrêtant le plan de continuation", "2023-12-04"),
        ]
    )
    assert (continued.kind, continued.judged_on) == (S, date(2023, 3, 1))


def test_one_note_naming_several_counts_as_the_gravest() -> None:
    got = read_proceedings(
        [
            (
                "Jugement prononçant la résolution du plan de redressement et la liquidation judiciaire",
                "2025-01-01",
            )
        ]
    )
    assert got.kind is L


def test_a_closure_ends_a_sauvegarde_or_a_redressement_but_not_a_liquidation() -> None:
    opened = ("Jugement d'ouverture d'une procédure de redressement judiciaire", "2022-03-01")
    closed = read_proceedings(
        [opened, ("Jugement de clôture de la procédure de redressement judiciaire", "2024-05-02")]
    )
    assert closed.kind is None and not closed.collective
    plain_closure = read_proceedings(
        [opened, ("Jugement de clôture de la procédure", "2024-05-02")]
    )
    assert plain_closure.kind is None
    liquidated = read_proceedings(
        [
            ("Jugement prononçant la liquidation judiciaire", "2022-03-01"),
            ("Jugement de clôture pour insuffisance d'actif", "2024-05-02"),
        ]
    )
    assert (liquidated.kind, liquidated.judged_on) == (L, date(2022, 3, 1))
    liquidation_closed = read_proceedings(
        [
            ("Jugement prononçant la liquidation judiciaire", "2022-03-01"),
            (
                "Jugement de clôture de la liquidation judiciaire pour extinction du passif",
                "2024-05-02",
            ),
        ]
    )
    assert liquidation_closed.kind is L


def test_a_judgment_reversed_on_appeal_ends_the_proceedings() -> None:
    got = read_proceedings(
        [
            ("Jugement prononçant la liquidation judiciaire", "2025-01-10"),
            (
                "Arrêt de la cour d'appel infirmant le jugement de liquidation judiciaire",
                "2025-04-02",
            ),
        ]
    )
    assert got.kind is None


def test_dates_iso_french_or_in_the_text() -> None:
    assert read_proceedings([("Jugement de sauvegarde", "12/03/2024")]).judged_on == date(
        2024, 3, 12
    )
    undated = read_proceedings(
        [("Jugement du 05/11/2024 ouvrant une procédure de sauvegarde", None)]
    )
    assert (undated.kind, undated.judged_on) == (S, date(2024, 11, 5))
    nothing = read_proceedings([("Jugement ouvrant une procédure de sauvegarde", "n/a")])
    assert (nothing.kind, nothing.judged_on) == (S, None)
    # An undated note is older than every dated one.
    got = read_proceedings(
        [
            ("Jugement prononçant la liquidation judiciaire", "2025-01-10"),
            ("Jugement ouvrant une procédure de sauvegarde", None),
        ]
    )
    assert got.kind is L
