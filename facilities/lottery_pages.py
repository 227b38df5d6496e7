"""The public page of a lottery (추첨): its commitment before the window opens, and after the
draw the seed, the drawn order and the draw recomputed by the server, with the procedure in
words so that anyone can check it elsewhere."""

from __future__ import annotations

from flask import render_template

from core.clock import now
from core.web import PageBlueprint
from facilities.pages import Formats
from facilities.services import lotteries

blp = PageBlueprint("facilities_lottery_pages", __name__, template_folder="templates")


@blp.context_processor
def _formats() -> dict:
    return {"fmt": Formats}


@blp.get("/lotteries/<int:lottery_id>")
def lottery(lottery_id):
    return render_template("facilities/lottery.html", **lotteries.public_page(lottery_id, now()))
