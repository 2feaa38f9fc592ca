"""The signed-in user's coin wallet: balance and history."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.services import ledger
from app.web.access import SIGNED_IN, requires

bp = Blueprint("wallet", __name__)


@bp.get("/wallet")
@requires(SIGNED_IN)
def index():
    """The balance and the history of the user's wallet, newest first, a page at a time."""
    # Reading never creates the wallet: a GET writes nothing.
    account = ledger.find_wallet(current_user)
    before = request.args.get("before", type=int)
    return render_template("pages/wallet/index.html", account=account,
                           balance=account.balance if account else 0,
                           history=ledger.history(account, before), before=before)
