"""The admin console over plain HTTP, on a single Redis and on a cluster: named admins in the audit
log, the session cookie and its end, CSRF, the sign-in limits, and no console without admins.
(What a browser does with the pages is in tests/console.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import Backend
from tests.api.helpers import send
from tests.conftest import ADMIN, Vendors, build_app, code_in, make_settings

ALICE = "alice-admin-token-0123456789"
BOB = "bob-admin-token-0123456789ab"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')

Console = Callable[..., Any]


@pytest.fixture
def console(redis_backend: Backend, redis: object, vendors: Vendors) -> Console:
    """A client of an app with named admins, over https (the session cookie is Secure)."""

    @asynccontextmanager
    async def make(**env: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
        env = {"OTP_ADMIN_TOKENS": f"alice:{ALICE},bob:{BOB}", **env}
        settings = make_settings(OTP_REDIS_URL=redis_backend.url, **env)
        async with AsyncTestClient(build_app(settings, vendors), base_url="https://console.test") as client:
            yield client

    return make


async def csrf(client: AsyncTestClient[Litestar], path: str = "/admin/signin") -> str:
    page = await client.get(path)
    found = _CSRF.search(page.text)
    assert found, "no CSRF input in the page"
    return found.group(1)


async def sign_in(client: AsyncTestClient[Litestar], token: str = ALICE, **headers: str) -> Any:
    return await client.post(
        "/admin/signin",
        data={"token": token, "_csrf_token": await csrf(client)},
        headers=headers,
        follow_redirects=False,
    )


async def test_a_named_admin_token_is_named_in_the_audit_log_of_the_api(console: Console) -> None:
    async with console() as client:
        changed = await client.patch(
            "/v1/admin/settings", json={"code_length": 7}, headers={"Authorization": f"Bearer {BOB}"}
        )
        assert changed.status_code == 200, changed.text
        await client.patch("/v1/admin/settings", json={"code_length": 8}, headers=ADMIN)
        audit = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert [(e["admin"], e["new"]) for e in audit[:2]] == [("admin", 8), ("bob", 7)]


async def test_signing_in_sets_a_secure_httponly_strict_session_cookie_for_admin_only(console: Console) -> None:
    async with console() as client:
        response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/settings"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("otp_admin="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and "Path=/admin;" in cookie
    assert ALICE not in cookie


async def test_a_console_change_is_audited_under_the_admins_name(console: Console) -> None:
    async with console() as client:
        await sign_in(client, BOB)
        token = await csrf(client, "/admin/settings")
        form = {
            "_csrf_token": token,
            "code_length": "6",
            "ttl_seconds": "300",
            "max_attempts": "5",
            "resend_cooldown_seconds": "30",
            "brand": "Acme",
            "providers": "gatum",
            **{f"{w}.{p}": v for w, c, s in _WINDOWS for p, v in (("count", c), ("window_seconds", s))},
        }
        saved = await client.post("/admin/settings", data=form, follow_redirects=False)
        assert saved.status_code == 303, saved.text
        audit = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert [(e["admin"], e["field"], e["new"]) for e in audit] == [("bob", "ttl_seconds", 300)]


_WINDOWS = [
    ("send_limit", "5", "600"),
    ("check_limit", "10", "3600"),
    ("source_check_limit", "5", "86400"),
    ("client_limit", "1000", "60"),
    ("ip_limit", "30", "600"),
]


async def test_signing_out_ends_the_session_for_a_copied_cookie_too(console: Console) -> None:
    async with console() as client:
        await sign_in(client)
        session = client.cookies.get("otp_admin")
        assert (await client.get("/admin/settings", follow_redirects=False)).status_code == 200
        token = await csrf(client, "/admin/settings")
        out = await client.post("/admin/signout", data={"_csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        client.cookies.set("otp_admin", session or "", domain="console.test", path="/admin")
        again = await client.get("/admin/settings", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/admin/signin"


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(console: Console) -> None:
    async with console() as client:
        page = await client.get("/admin/providers", follow_redirects=False)
        fragment = await client.get("/admin/audit", headers={"HX-Request": "true"}, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/admin/signin")
    assert fragment.headers["hx-redirect"] == "/admin/signin"


async def test_a_post_without_the_csrf_token_is_refused_even_when_signed_in(console: Console) -> None:
    async with console() as client:
        await sign_in(client)
        response = await client.post("/admin/settings", data={"code_length": "8"})
        signin = await client.post("/admin/signin", data={"token": ALICE})
        audit = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert response.status_code == 403
    assert response.headers["content-security-policy"].startswith("default-src 'none'")  # the refusal too
    assert signin.status_code == 403  # a login CSRF is refused too
    assert audit == []


async def test_sign_in_attempts_are_limited_for_everybody_at_once(console: Console) -> None:
    async with console(OTP_TRUSTED_PROXY_HOPS="1") as client:
        for n in range(100):
            response = await sign_in(
                client, "wrong-0123456789-0123456789", **{"X-Forwarded-For": f"10.0.{n // 250}.{n % 250}"}
            )
            assert response.status_code == 401
        refused = await sign_in(client, ALICE, **{"X-Forwarded-For": "10.9.9.9"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0


async def test_there_is_no_console_without_admins(app_with: Callable[..., Any]) -> None:
    async with app_with(OTP_ADMIN_TOKEN=None) as client:
        assert (await client.get("/admin/signin")).status_code == 404
        assert (await client.get("/admin/static/htmx.min.js")).status_code == 404


async def test_an_app_override_set_in_the_console_applies_to_that_apps_sends_and_an_empty_input_removes_it(
    console: Console, vendors: Vendors
) -> None:
    async with console() as client:
        await sign_in(client)
        token = await csrf(client, "/admin/apps/web")
        saved = await client.post(
            "/admin/apps/web", data={"_csrf_token": token, "code_length": "8"}, follow_redirects=False
        )
        assert saved.status_code == 303, saved.text
        assert (await send(client)).status_code == 201
        assert len(code_in(vendors.last_text())) == 8
        bad = await client.post("/admin/apps/web", data={"_csrf_token": token, "code_length": "eight"})
        assert bad.status_code == 422
        assert 'data-testid="error-code_length">a whole number is required<' in bad.text
        cleared = await client.post("/admin/apps/web", data={"_csrf_token": token}, follow_redirects=False)
        assert cleared.status_code == 303
        overrides = (await client.get("/v1/admin/apps/web/settings", headers=ADMIN)).json()["overridden"]
        audit = (await client.get("/v1/admin/audit", headers=ADMIN)).json()
    assert overrides == {}
    assert [(e["admin"], e["field"], e["new"]) for e in audit] == [
        ("alice", "apps.web.code_length", 6),
        ("alice", "apps.web.code_length", 8),
    ]


async def test_the_providers_page_shows_an_open_breaker_and_the_failures_that_opened_it(
    console: Console, vendors: Vendors
) -> None:
    async with console(OTP_PROVIDERS="gatum,wavy") as client:
        await sign_in(client)
        before = await client.get("/admin/providers")
        vendors.gatum.fail_with_status = 503
        for n in range(5):
            assert (await send(client, to=f"+3460010030{n}")).status_code == 201  # wavy delivered each
        after = await client.get("/admin/providers")
    assert re.search(r'<code>gatum</code></td><td>sms</td>\s*<td class="state-closed">closed</td>', before.text)
    assert re.search(r'<code>gatum</code></td><td>sms</td>\s*<td class="state-open">open</td>', after.text)
    assert re.search(r"unavailable \d+", after.text)
    assert "+3460010030" not in after.text


async def test_removing_an_admin_from_the_configuration_ends_their_sessions(console: Console) -> None:
    async with console() as client:
        await sign_in(client, BOB)
        session = client.cookies.get("otp_admin") or ""
    async with console(OTP_ADMIN_TOKENS=f"alice:{ALICE}") as client:
        client.cookies.set("otp_admin", session, domain="console.test", path="/admin")
        page = await client.get("/admin/settings", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/admin/signin")


async def test_a_template_without_a_locale_or_with_a_bad_placeholder_is_pointed_out_and_nothing_saved(
    console: Console,
) -> None:
    async with console() as client:
        await sign_in(client)
        token = await csrf(client, "/admin/templates")

        async def save(*rows: tuple[str, str], remove: str = "") -> Any:
            form: dict[str, Any] = {
                "_csrf_token": token,
                "locale": [r[0] for r in rows],
                "text": [r[1] for r in rows],
                **({"remove": remove} if remove else {}),
            }
            return await client.post("/admin/templates", data=form, follow_redirects=False)

        no_locale = await save(("en", "Code {code}"), ("", "Código {code}"))
        bad = await save(("en", "Code {code}"), ("de", "Code {code} {pin}"))
        twice = await save(("en", "Code {code}"), ("fr", "Code {code}"), ("fr", "Code: {code}"))
        no_en = await save(("en", "Code {code}"), remove="en")
        removed = await save(("en", "Code {code}"), ("es", "Código {code}"), remove="es")
        templates = (await client.get("/v1/admin/settings", headers=ADMIN)).json()["templates"]
    assert no_locale.status_code == 422 and "a locale is required" in no_locale.text
    assert bad.status_code == 422 and "unknown placeholders: pin" in bad.text
    assert twice.status_code == 422 and "this locale is listed twice" in twice.text
    assert no_en.status_code == 422 and "an &#39;en&#39; template is required" in no_en.text
    assert removed.status_code == 303
    assert templates == {"en": "Code {code}"}


async def test_test_numbers_are_added_checked_and_removed_without_showing_number_or_code(console: Console) -> None:
    number = "+34600999777"
    async with console() as client:
        await sign_in(client)
        token = await csrf(client, "/admin/test-numbers")
        bad_number = await client.post(
            "/admin/test-numbers", data={"_csrf_token": token, "number": "12", "code": "1234"}
        )
        bad_code = await client.post(
            "/admin/test-numbers", data={"_csrf_token": token, "number": number, "code": "12x"}
        )
        added = await client.post(
            "/admin/test-numbers",
            data={"_csrf_token": token, "number": number, "code": "987654"},
            follow_redirects=False,
        )
        listed = await client.get("/admin/test-numbers")
        ref = re.search(r'name="ref" value="([0-9a-f]+)"', listed.text)
        assert ref is not None
        removed = await client.post(
            "/admin/test-numbers/remove", data={"_csrf_token": token, "ref": ref.group(1)}, follow_redirects=False
        )
        numbers = (await client.get("/v1/admin/settings", headers=ADMIN)).json()["test_numbers"]
    assert bad_number.status_code == 422 and "keys must be phone numbers in international form" in bad_number.text
    assert bad_code.status_code == 422 and 'data-testid="error-code">4 to 10 digits<' in bad_code.text
    assert "12x" not in bad_code.text
    assert added.status_code == 303
    assert "+34******777" in listed.text and number not in listed.text and "987654" not in listed.text
    assert removed.status_code == 303
    assert numbers == {}


async def test_pages_are_never_cached_and_the_vendored_htmx_is(console: Console) -> None:
    async with console() as client:
        signin = await client.get("/admin/signin")
        htmx = await client.get("/admin/static/htmx.min.js")
    assert signin.headers["cache-control"] == "no-store"
    assert signin.headers["x-frame-options"] == "DENY"
    assert htmx.status_code == 200
    assert htmx.headers["content-type"].startswith("text/javascript")
    assert htmx.headers["cache-control"] == "public, max-age=86400"
    assert htmx.text.startswith("var htmx=function()")


async def test_releasing_a_prefix_that_is_not_held_or_not_a_prefix_changes_nothing(console: Console) -> None:
    async with console() as client:
        await sign_in(client)
        token = await csrf(client, "/admin/fraud")
        for prefix in ("+34600100", "34600100", "+1"):
            released = await client.post(
                "/admin/fraud/release", data={"_csrf_token": token, "prefix": prefix}, follow_redirects=False
            )
            assert (released.status_code, released.headers["location"]) == (303, "/admin/fraud")
        by_prefix = await client.get("/admin/fraud?by=prefix&window=900")
        wrong = await client.get("/admin/fraud?by=number")
    assert by_prefix.status_code == 200 and "No prefix is held." in by_prefix.text
    assert wrong.status_code == 400


async def test_the_events_page_names_only_known_apps(console: Console) -> None:
    async with console() as client:
        await sign_in(client)
        token = await csrf(client, "/admin/events")
        first = await client.get("/admin/events")
        unknown = await client.get("/admin/events?app=nobody")
        replay = await client.post("/admin/events/replay", data={"_csrf_token": token, "app": "nobody"})
        none = await client.post(
            "/admin/events/replay", data={"_csrf_token": token, "app": "web"}, follow_redirects=False
        )
    assert first.status_code == 200 and "Endpoints of mobile" in first.text
    assert unknown.status_code == 404
    assert replay.status_code == 404
    assert (none.status_code, none.headers["location"]) == (303, "/admin/events?app=web&replayed=0")


async def test_the_providers_page_lists_routes_prefixes_first_longest_first(console: Console) -> None:
    routes = {
        "ES": {"providers": ["instasent", "gatum"]},
        "+34": {"providers": ["gatum"]},
        "+34600": {"providers": ["instasent"], "sender_ids": {"instasent": "AcmeES"}},
    }
    async with console() as client:
        changed = await client.patch(
            "/v1/admin/settings", json={"providers": ["gatum", "instasent"], "routes": routes}, headers=ADMIN
        )
        assert changed.status_code == 200, changed.text
        await sign_in(client)
        page = (await client.get("/admin/providers")).text
    table = page[page.index('data-testid="routes"') :]
    keys = re.findall(r'<tr><td class="mono">([^<]+)</td>', table)
    assert keys == ["+34600", "+34", "ES"]
    assert "instasent: <code>AcmeES</code>" in table


async def test_whatsapp_templates_are_their_own_channel_with_their_own_en_rule(console: Console) -> None:
    async with console() as client:
        await sign_in(client)
        token = await csrf(client, "/admin/templates?channel=whatsapp")

        async def save(rows: list[tuple[str, str]]) -> Any:
            form = {
                "_csrf_token": token,
                "channel": "whatsapp",
                "locale": [r[0] for r in rows],
                "text": [r[1] for r in rows],
            }
            return await client.post("/admin/templates", data=form, follow_redirects=False)

        without_en = await save([("es", "Tu código {code}")])
        saved = await save([("en", "Your code {code}"), ("es", "Tu código {code}")])
        preview = await client.post(
            "/admin/templates/preview",
            data={"_csrf_token": token, "channel": "whatsapp", "row": "1", "locale": "en", "text": "Code {code}"},
        )
        page = await client.get("/admin/templates?channel=whatsapp")
        settings = (await client.get("/v1/admin/settings", headers=ADMIN)).json()
    assert without_en.status_code == 422 and "an &#39;en&#39; template is required" in without_en.text
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/templates?channel=whatsapp&saved=1")
    assert settings["whatsapp_templates"] == {"en": "Your code {code}", "es": "Tu código {code}"}
    assert settings["templates"]["en"] == "Your {brand} code is {code}. It expires in {minutes} minutes."
    assert "Code 123456" in preview.text and "segment" not in preview.text
    assert "Tu código {code}" in page.text
