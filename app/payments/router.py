"""`POST /v1/payment-checks`: advice before paying invoices."""

from fastapi import APIRouter

from app.deps import BuyerCaller, ComplianceDep, SessionDep
from app.payments import service
from app.payments.schemas import PaymentChecksIn, PaymentChecksOut

router = APIRouter(tags=["payments"])


@router.post("/v1/payment-checks", response_model=PaymentChecksOut, operation_id="check_payments")
async def check_payments(
    data: PaymentChecksIn, caller: BuyerCaller, session: SessionDep, compliance: ComplianceDep
) -> PaymentChecksOut:
    """Advice on up to 1,000 invoices about to be paid: for each, `advice` (`ok`, `warning`,
    `hold_recommended`), the reasons, the legal basis, `as_of` (the last check behind it) and
    the evidence document ids (`GET /v1/documents/{id}`).

    **Advice only.** The law gives the buyer no right to withhold a payment for this: payment
    deadlines run (R2192-10 Code de la commande publique). `hold_recommended` means a red flag
    (refused attestation, ceased or struck-off company, liquidation): the public buyer enjoins the
    contractor to put things right (L8222-6 Code du travail) and keeps the trace of its
    vigilance. A `contract_reference` the buyer does not have, or a supplier that does not hold
    it, is a `warning` with its reason."""
    assert caller.buyer_id is not None
    return await service.check_payments(session, caller.buyer_id, data.items, compliance.policy)
