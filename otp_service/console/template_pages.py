"""The message templates (one per locale, with a live preview) and the test numbers.

Both are whole maps in the live settings: a save sends the whole new map through the same use case
as ``PATCH /v1/admin/settings``, so adding one locale no longer means typing every other one.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from ..domain.errors import Conflict, SettingsUnreadable, ValidationFailed
from ..domain.operations import Operations
from ..domain.phone import mask
from ..domain.policy import SettingsPatch
from ..domain.service import OtpService
from ..domain.template_preview import TemplatePreview
from .views import number_ref, page

__all__ = ("TemplatePages",)


def _rows(templates: dict[str, str]) -> list[dict[str, Any]]:
    locales = sorted(templates, key=lambda locale: (locale != "en", locale))
    return [{"locale": locale, "text": templates[locale], "error": None} for locale in locales] + [
        {"locale": "", "text": "", "error": None}
    ]


def _check(patch: dict[str, Any]) -> str | None:
    try:
        msgspec.convert(patch, SettingsPatch, strict=True)
    except msgspec.ValidationError as exc:
        return str(exc).split(" - at `", 1)[0]
    return None


# A channel's templates are one live setting each: SMS ``templates``, WhatsApp ``whatsapp_templates``
# (empty: WhatsApp uses the SMS ones).
FIELDS = {"sms": "templates", "whatsapp": "whatsapp_templates"}


def _channel(raw: object) -> str:
    return raw if isinstance(raw, str) and raw in FIELDS else "sms"


class TemplatePages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/templates")
    async def templates_page(
        self, request: Request[Any, Any, Any], operations: NamedDependency[Operations]
    ) -> Template:
        settings, _ = await operations.settings()
        channel = _channel(request.query_params.get("channel"))
        notice = "Saved." if request.query_params.get("saved") else None
        templates: dict[str, str] = getattr(settings, FIELDS[channel])
        return self._templates(request, channel, _rows(templates), notice=notice)

    @post("/templates", status_code=200)
    async def save_templates(
        self, request: Request[Any, Any, Any], operations: NamedDependency[Operations], admin: NamedDependency[str]
    ) -> Template | Redirect:
        form = await request.form()
        channel = _channel(form.get("channel"))
        field = FIELDS[channel]
        locales = [str(v).strip() for v in form.getall("locale", [])]
        texts = [str(v) for v in form.getall("text", [])]
        removed = {str(v) for v in form.getall("remove", [])}
        rows: list[dict[str, Any]] = []
        templates: dict[str, str] = {}
        for locale, text in zip(locales, texts, strict=False):
            row: dict[str, Any] = {"locale": locale, "text": text, "error": None}
            rows.append(row)
            if locale in removed or (not locale and not text.strip()):
                continue
            if not locale:
                row["error"] = "a locale is required (en, es, pt-BR…)"
            elif locale in templates:
                row["error"] = "this locale is listed twice"
            else:
                row["error"] = _check({field: {locale: text}})
                templates[locale] = text
        if any(row["error"] for row in rows):
            return self._templates(request, channel, rows, status=422)
        try:
            if not templates and channel == "sms":  # the SMS map may not be empty: say why, as the rule does
                message = "an 'en' template is required (the fallback for every locale)"
                raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])
            await operations.update_settings(msgspec.convert({field: templates}, SettingsPatch), admin=admin)
        except msgspec.ValidationError as exc:  # what only the whole map can break (at most 200 locales)
            return self._templates(request, channel, rows, status=422, alert=str(exc).split(" - at `", 1)[0])
        except ValidationFailed as exc:
            for error in exc.errors:
                where = error.get("field", "").removeprefix(f"{field}.")
                for row in rows:
                    if row["locale"] == where or (where == field and row["locale"] == "en"):
                        row["error"] = error.get("message")
            alert = None if any(row["error"] for row in rows) else exc.detail
            return self._templates(request, channel, rows, status=422, alert=alert)
        except (Conflict, SettingsUnreadable) as exc:
            status = 409 if isinstance(exc, Conflict) else 503
            return self._templates(request, channel, rows, status=status, alert=exc.detail)
        return Redirect(f"/admin/templates?channel={channel}&saved=1", status_code=303)

    @post("/templates/preview", status_code=200)
    async def preview(
        self, request: Request[Any, Any, Any], template_preview: NamedDependency[TemplatePreview]
    ) -> Template:
        form = await request.form()
        locales, texts = form.getall("locale", []), form.getall("text", [])
        try:
            index = int(str(form.get("row", ""))) - 1
            locale, text = str(locales[index]).strip() or "en", str(texts[index])
        except (ValueError, IndexError):
            locale, text = "en", ""
        result = await template_preview.preview(locale, text) if text.strip() else None
        channel = _channel(form.get("channel"))
        return Template(template_name="_preview.html", context={"preview": result, "channel": channel})

    @staticmethod
    def _templates(
        request: Request[Any, Any, Any], channel: str, rows: list[dict[str, Any]], *, status: int = 200, **context: Any
    ) -> Template:
        return page(
            request,
            "templates.html",
            title="Templates",
            active="/admin/templates",
            status=status,
            channel=channel,
            rows=rows,
            errors=[row for row in rows if row["error"]],
            **context,
        )

    @get("/test-numbers")
    async def test_numbers_page(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[Operations],
        otp_service: NamedDependency[OtpService],
    ) -> Template:
        notice = "Saved." if request.query_params.get("saved") else None
        return await self._numbers(request, operations, otp_service, {}, {}, notice=notice)

    @post("/test-numbers", status_code=200)
    async def add_test_number(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[Operations],
        otp_service: NamedDependency[OtpService],
        admin: NamedDependency[str],
    ) -> Template | Redirect:
        form = await request.form()
        number, code = str(form.get("number", "")).strip(), str(form.get("code", "")).strip()
        values = {"number": number}  # the code is never sent back into a page
        errors = {}
        if not number:
            errors["number"] = "required"
        if _check({"test_numbers": {"+10000": code}}) is not None:
            errors["code"] = "4 to 10 digits" if code else "required"
        if errors:
            return await self._numbers(request, operations, otp_service, values, errors, status=422)
        settings, _ = await operations.settings()
        try:
            await operations.update_settings(
                SettingsPatch(test_numbers={**settings.test_numbers, number: code}), admin=admin
            )
        except ValidationFailed as exc:
            errors = {"number": exc.errors[0].get("message", exc.detail) if exc.errors else exc.detail}
            return await self._numbers(request, operations, otp_service, values, errors, status=422)
        return Redirect("/admin/test-numbers?saved=1", status_code=303)

    @post("/test-numbers/remove", status_code=303)
    async def remove_test_number(
        self, request: Request[Any, Any, Any], operations: NamedDependency[Operations], admin: NamedDependency[str]
    ) -> Redirect:
        ref = str((await request.form()).get("ref", ""))
        settings, _ = await operations.settings()
        kept = {n: c for n, c in settings.test_numbers.items() if number_ref(n) != ref}
        if len(kept) != len(settings.test_numbers):
            await operations.update_settings(SettingsPatch(test_numbers=kept), admin=admin)
        return Redirect("/admin/test-numbers?saved=1", status_code=303)

    @staticmethod
    async def _numbers(
        request: Request[Any, Any, Any],
        operations: Operations,
        otp_service: OtpService,
        values: dict[str, str],
        errors: dict[str, str],
        *,
        status: int = 200,
        **context: Any,
    ) -> Template:
        settings, _ = await operations.settings()
        numbers = [
            {"masked": mask(n), "digits": len(code), "ref": number_ref(n)}
            for n, code in sorted(settings.test_numbers.items())
        ]
        return page(
            request,
            "test_numbers.html",
            title="Test numbers",
            active="/admin/test-numbers",
            status=status,
            numbers=numbers,
            values=values,
            errors=errors,
            enabled=otp_service.test_numbers_allowed,
            **context,
        )
