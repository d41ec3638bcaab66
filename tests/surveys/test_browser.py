"""The public survey page in Chromium, on a phone (390×844) and a desktop: skip logic, leaving halfway and
coming back, submitting, a reused link, the answer in the results and the CSAT indicator, a recovery case,
and an axe-core accessibility check (no serious or critical violations).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.test_browser import DESKTOP, PHONE, Server, _login, _pin_settings, browser, server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
__all__ = ["_pin_settings", "browser", "server"]

AXE = "/static/vendor/axe-core/axe.min.js"


def _invite(name: str) -> tuple[str, int]:
    """A new customer with a late order, invited to the after-delivery survey; returns (path, invitation id)."""
    from cxloop.clock import now
    from cxloop.customers.models import Customer
    from cxloop.db import session_scope
    from cxloop.orders.models import Order
    from cxloop.surveys import service

    at = now()
    with session_scope() as session:
        customer = Customer(
            external_id=f"browser-{name}", name="测试顾客", email=f"{name}@example.com", tier="returning"
        )
        session.add(customer)
        session.flush()
        order = Order(
            external_id=f"browser-order-{name}",
            customer_id=customer.id,
            placed_at=at - timedelta(days=4),
            promised_delivery_at=at - timedelta(days=2),
            delivered_at=at - timedelta(hours=3),
        )
        session.add(order)
        session.flush()
        result = service.invite(
            session,
            survey_key="after_delivery",
            customer_id=customer.id,
            trigger="after_delivery",
            now=at,
            order_id=order.id,
        )
    assert result.sent and result.link and result.invitation_id
    return "/s/" + result.link.rsplit("/s/", 1)[1], result.invitation_id


def _context(browser: Any, viewport: dict[str, int]) -> Any:
    context = browser.new_context(
        viewport=viewport, locale="zh-CN", is_mobile=viewport is PHONE, has_touch=viewport is PHONE
    )
    context.set_default_timeout(15_000)
    return context


def _axe(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page (axe is vendored and injected from our origin)."""
    page.add_script_tag(url=AXE)
    violations: list[dict[str, Any]] = page.evaluate(
        """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))"""
    )
    return violations


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_customer_answers_with_skip_logic_leaves_and_comes_back(
    browser: Any, server: Server, viewport: dict[str, int]
) -> None:
    from cxloop.db import session_scope
    from cxloop.loop.models import Case
    from cxloop.surveys.models import SurveyInvitation

    name = "phone" if viewport is PHONE else "desktop"
    path, invitation_id = _invite(name)
    url = server.base_url + path
    errors: list[str] = []

    context = _context(browser, viewport)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    assert page.locator("h1").inner_text() == "到货满意度"
    assert _axe(page) == []
    unhappy, pleased = page.locator("#q-unhappy"), page.locator("#q-pleased")
    assert not unhappy.is_visible() and not pleased.is_visible()
    page.click("label[for=q-csat-5]")  # a high score asks what pleased them
    assert pleased.is_visible() and not unhappy.is_visible()
    page.keyboard.press("ArrowLeft")  # the scale works from the keyboard: 5 → 4
    assert page.locator("#q-csat-4").is_checked()
    page.click("label[for=q-csat-2]")  # a low score asks what disappointed them
    assert unhappy.is_visible() and not pleased.is_visible()
    page.fill("#q-unhappy-text", "快递晚了两天，<b>外箱</b>也压坏了")
    page.wait_for_selector(".survey-status:has-text('已自动保存')")
    page.close()
    context.close()  # the customer leaves halfway

    context = _context(browser, viewport)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)  # ... and comes back: the answers are still there
    assert page.locator("#q-csat-2").is_checked()
    assert page.locator("#q-unhappy-text").input_value() == "快递晚了两天，<b>外箱</b>也压坏了"
    assert page.locator("#q-unhappy").is_visible()
    page.click("button.survey-submit")
    page.wait_for_selector(".survey-done h1")
    assert "感谢" in page.locator(".survey-done h1").inner_text()
    assert _axe(page) == []
    reused = page.goto(url)
    assert reused is not None and reused.status == 409
    assert page.locator("h1").inner_text() == "您已经回答过了"
    context.close()
    assert errors == []

    # The scheduled follow-up (surveys.follow_up, every 10 s) opens the recovery case off the request.
    from cxloop import worker  # noqa: F401  (the job wiring every serving process imports with its scheduler)
    from cxloop.jobs import run_now

    assert run_now("surveys.follow_up") == {"answers": 1}
    with session_scope() as session:
        invitation = session.get(SurveyInvitation, invitation_id)
        assert invitation is not None and invitation.status == "answered"
        case = session.get(Case, invitation.recovery_case_id) if invitation.recovery_case_id else None
        assert case is not None and case.source == "survey"
        assert session.scalar(select(Case.id).where(Case.id == case.id)) == case.id

    # The scheduled catch-up (pipeline.after_data) puts the answer into the CSAT indicator today.
    from cxloop.metrics.service import compute
    from cxloop.periods import Period
    from cxloop.pipeline import after_data_job

    after_data_job()
    with session_scope() as session:
        assert invitation.answered_at is not None
        value = compute(
            db_session=session, indicator="csat", period=Period.day(invitation.answered_at.date())
        )
    assert value.value is not None and value.value < 1.0  # a 2/5 counts as not satisfied

    staff = _context(browser, DESKTOP)
    page = staff.new_page()
    _login(page, server, "manager", "manager-demo")
    page.goto(f"{server.base_url}/surveys/after_delivery")
    answers = page.locator("#open-answers")
    assert "快递晚了两天，<b>外箱</b>也压坏了" in answers.inner_text()  # shown as text, escaped
    assert page.locator("#open-answers b").count() == 0
    assert page.locator(".chart canvas").count() > 0
    staff.close()


def test_public_page_is_accessible_in_english_and_links_fail_clearly(browser: Any, server: Server) -> None:
    path, _ = _invite("english")
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    page.goto(server.base_url + path)
    assert page.locator("h1").inner_text() == "After delivery"
    assert page.locator("html").get_attribute("lang") == "en"
    assert _axe(page) == []
    forged = page.goto(server.base_url + path[:-4] + "abcd")
    assert forged is not None and forged.status == 404
    assert page.locator("h1").inner_text() == "This link is not valid"
    assert _axe(page) == []
    context.close()


def test_editor_previews_the_public_page_live(browser: Any, server: Server) -> None:
    context = _context(browser, DESKTOP)
    page = context.new_page()
    _login(page, server, "manager", "manager-demo")
    page.goto(f"{server.base_url}/surveys/relationship_nps/edit")
    page.wait_for_selector("#preview form.survey-form")
    assert "推荐" in page.locator("#preview h1").inner_text()
    page.click("#preview label[for=q-nps-3]")
    assert page.locator("#preview #q-unhappy").is_visible()  # skip logic works in the preview too
    text = page.locator("#definition").input_value()
    page.fill("#definition", text.replace("季度推荐意愿调查", "季度推荐调查（新版）", 1))
    page.wait_for_selector("#preview h1:has-text('新版')")
    page.fill("#definition", text.replace("kind: nps", "kind: stars", 1))
    page.wait_for_selector("#preview .problems")
    context.close()
