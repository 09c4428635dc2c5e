"""The admin console as an admin uses it, in headless Chromium: sign in, change settings, preview
templates; and what protects it: CSRF, the sign-in limit, the Content-Security-Policy, no secrets."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import ADMIN, API_KEY, CLIENT, PEPPER, WEBHOOK_SECRET, Vendors, code_in
from tests.console.conftest import ALICE, BOB, SCREENSHOTS, SignIn

pytestmark = pytest.mark.asyncio(loop_scope="session")

NUMBER = "+34600100200"
PAGES = (
    "/admin/settings",
    "/admin/apps",
    "/admin/apps/web",
    "/admin/templates",
    "/admin/test-numbers",
    "/admin/providers",
    "/admin/fraud",
    "/admin/events?app=web",
    "/admin/audit",
)
TEST_NUMBER = "+34600999888"


async def test_an_admin_signs_in_with_their_own_token_and_is_named_on_every_page(sign_in: SignIn) -> None:
    page = await sign_in(BOB)
    await expect(page).to_have_url(re.compile(r"/admin/settings$"))
    await expect(page.get_by_test_id("admin-name")).to_have_text("bob")
    await page.click("text=Providers")
    await expect(page.get_by_test_id("admin-name")).to_have_text("bob")


async def test_a_wrong_token_does_not_sign_in(page: Page) -> None:
    await page.goto("/admin/signin")
    await page.fill("#token", "not-an-admin-token-0123456789")
    await page.click("button[type=submit]")
    await expect(page.get_by_role("alert")).to_have_text("That is not an admin token.")
    await page.goto("/admin/settings")
    await expect(page).to_have_url(re.compile(r"/admin/signin$"))


async def test_a_setting_changed_in_the_console_applies_to_the_next_send(
    sign_in: SignIn, console_url: str, vendors: Vendors
) -> None:
    page = await sign_in()
    await page.fill("#f-code_length", "8")
    await page.click("text=Save settings")
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(page.locator("#f-code_length")).to_have_value("8")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "console-settings.png"), full_page=True)
    async with httpx.AsyncClient(base_url=console_url) as api:
        sent = await api.post("/v1/verifications", json={"to": NUMBER}, headers=CLIENT)
    assert sent.status_code == 201, sent.text
    assert len(code_in(vendors.last_text())) == 8
    await page.click("text=Audit log")
    row = page.get_by_test_id("audit").locator("tbody tr").first
    await expect(row).to_contain_text("alice")
    await expect(row).to_contain_text("code_length")


async def test_a_wrong_value_is_shown_next_to_its_field_and_nothing_is_saved(sign_in: SignIn) -> None:
    page = await sign_in()
    await page.fill("#f-code_length", "3")
    await page.fill("#f-send_limit\\.count", "lots")
    await page.click("text=Save settings")
    await expect(page.get_by_test_id("error-code_length")).to_have_text("must be at least 4")
    await expect(page.get_by_test_id("error-send_limit.count")).to_have_text("a whole number is required")
    await expect(page.locator("#f-code_length")).to_have_attribute("aria-invalid", "true")
    await page.goto("/admin/settings")
    await expect(page.locator("#f-code_length")).to_have_value("6")


async def test_a_rule_across_fields_is_shown_at_its_field_and_nist_warnings_after_a_save(sign_in: SignIn) -> None:
    page = await sign_in()
    await page.fill("#f-providers", "gatum, nowhere")
    await page.click("text=Save settings")
    await expect(page.get_by_test_id("error-providers")).to_contain_text("not configured in this deployment: nowhere")
    await page.fill("#f-providers", "gatum")
    await page.fill("#f-ttl_seconds", "1200")
    await page.click("text=Save settings")
    await expect(page.get_by_test_id("warnings")).to_contain_text("ttl_seconds above 600 breaks NIST SP 800-63B")


async def test_a_template_preview_shows_the_text_its_encoding_and_segments_as_the_admin_types(
    sign_in: SignIn,
) -> None:
    page = await sign_in()
    await page.click("text=Templates")
    spanish = page.get_by_test_id("template-es")
    await expect(spanish.get_by_test_id("preview-meta")).to_contain_text("1 segment")
    await spanish.locator("textarea").fill("Tu código de {brand}: {code} 😀")
    await expect(spanish.get_by_test_id("preview-text")).to_have_text("Tu código de Acme: 123456 😀")
    await expect(spanish.get_by_test_id("preview-meta")).to_contain_text("UCS-2")
    await spanish.locator("textarea").fill("Tu codigo de {brand} es {code}. " * 6)
    await expect(spanish.get_by_test_id("preview-meta")).to_contain_text("GSM-7")
    await expect(spanish.get_by_test_id("preview-meta")).to_contain_text("2 segments")
    await spanish.locator("textarea").fill("Sin código")
    await expect(spanish.get_by_test_id("preview-error")).to_have_text("must contain {code}")
    await spanish.locator("textarea").fill("Tu código es {code}")
    await expect(spanish.get_by_test_id("preview-text")).to_have_text("Tu código es 123456")
    new = page.get_by_test_id("template-new")
    await new.locator("input[name=locale]").fill("pt-BR")
    await new.locator("textarea").fill("Seu código {brand}: {code}")
    await expect(new.get_by_test_id("preview-text")).to_have_text("Seu código Acme: 123456")
    await page.screenshot(path=str(SCREENSHOTS / "console-templates.png"), full_page=True)
    await page.click("text=Save templates")
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(page.get_by_test_id("template-pt-BR").locator("textarea")).to_have_value("Seu código {brand}: {code}")


async def test_a_form_posted_without_the_csrf_token_is_refused(sign_in: SignIn, context: BrowserContext) -> None:
    page = await sign_in()
    refused = await context.request.post("/admin/settings", form={"code_length": "8"})
    assert refused.status == 403
    forged = await context.request.post("/admin/settings", form={"code_length": "8", "_csrf_token": "0" * 128})
    assert forged.status == 403
    await page.goto("/admin/settings")
    await expect(page.locator("#f-code_length")).to_have_value("6")


async def test_sign_in_attempts_are_limited_per_address_even_with_the_right_token(page: Page) -> None:
    await page.goto("/admin/signin")
    for _ in range(10):
        await page.fill("#token", "guess-0123456789-0123456789")
        await page.click("button[type=submit]")
        await expect(page.get_by_role("alert")).to_have_text("That is not an admin token.")
    await page.fill("#token", ALICE)
    await page.click("button[type=submit]")
    await expect(page.get_by_role("alert")).to_contain_text("Too many sign-in attempts")
    await expect(page).to_have_url(re.compile(r"/admin/signin$"))


async def test_every_page_sends_a_strict_content_security_policy_and_breaks_none_of_it(sign_in: SignIn) -> None:
    page = await sign_in()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    for path in PAGES:
        response = await page.goto(path)
        assert response is not None and response.status == 200, path
        policy = await response.header_value("content-security-policy")
        assert policy is not None and "script-src 'self'" in policy and "default-src 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    await page.goto("/admin/templates")
    await expect(page.get_by_test_id("template-en").get_by_test_id("preview-text")).to_contain_text("123456")
    assert violations == []


async def test_no_page_shows_a_code_a_secret_or_a_whole_number(
    sign_in: SignIn, console_url: str, vendors: Vendors
) -> None:
    page = await sign_in()
    await page.click("text=Test numbers")
    await page.fill("#f-number", TEST_NUMBER)
    await page.fill("#f-code", "424242")
    await page.click("button:text('Add')")
    await expect(page.get_by_test_id("test-number")).to_contain_text("+34******888")
    async with httpx.AsyncClient(base_url=console_url) as api:
        hook = "https://hooks.example.com/otp?token=receiver-token-0123456789"
        created = await api.post("/v1/admin/apps/web/event-endpoints", json={"url": hook}, headers=ADMIN)
        assert created.status_code == 201, created.text
        assert (await api.post("/v1/verifications", json={"to": NUMBER}, headers=CLIENT)).status_code == 201
    sent = code_in(vendors.last_text())
    endpoint_secret = created.json()["secret"]
    secrets = [ALICE, BOB, API_KEY, PEPPER, WEBHOOK_SECRET, TEST_NUMBER, "424242", sent, NUMBER, "$argon2"]
    secrets += [endpoint_secret, created.json()["secret_hint"], "receiver-token-0123456789"]
    for path in PAGES:
        await page.goto(path)
        html = await page.content()
        shown = [secret for secret in secrets if secret in html]
        assert shown == [], f"{path} shows {len(shown)} secret(s)"
    await page.click("text=Audit log")
    await expect(page.get_by_test_id("audit")).to_contain_text("+34******888")


async def test_the_audit_log_filters_by_admin_and_field_as_the_admin_picks(sign_in: SignIn) -> None:
    page = await sign_in()
    await page.fill("#f-code_length", "7")
    await page.fill("#f-brand", "Bank")
    await page.click("text=Save settings")
    await page.click("text=Audit log")
    rows = page.get_by_test_id("audit").locator("tbody tr")
    await expect(rows).to_have_count(2)
    await page.select_option("#f-admin", "bob")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("No changes match.")
    await expect(page).to_have_url(re.compile(r"admin=bob"))
    await page.select_option("#f-admin", "alice")
    await expect(rows).to_have_count(2)  # alice's two changes are shown before the next filter is typed
    await page.fill("#f-field", "brand")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text('"Bank"')
