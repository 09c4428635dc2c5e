"""The live settings of channels and routes: per-channel templates, the fallback wait, route lookup."""

from __future__ import annotations

import msgspec
import pytest

from otp_service.domain.channels import whatsapp_settings
from otp_service.domain.errors import SettingsInvalid
from otp_service.domain.policy import PolicyContext, SettingsPatch, apply_patch, default_settings
from otp_service.domain.routes import Route, resolve

CTX = PolicyContext(available_providers=frozenset({"message_central", "gatum", "wavy"}))
LIVE = default_settings(["message_central", "gatum"])


def test_whatsapp_text_uses_its_own_templates_when_set() -> None:
    live = msgspec.structs.replace(LIVE, whatsapp_templates={"en": "*{code}* is your {brand} code."})
    assert whatsapp_settings(live).templates == {"en": "*{code}* is your {brand} code."}
    assert whatsapp_settings(LIVE).templates == LIVE.templates  # none set: the SMS templates


@pytest.mark.parametrize(
    ("templates", "field"),
    [({"en": "no code here"}, "whatsapp_templates.en"), ({"es": "{code}"}, "whatsapp_templates")],
    ids=["without-code", "without-en"],
)
def test_whatsapp_templates_follow_the_sms_template_rules(templates: dict[str, str], field: str) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        apply_patch(LIVE, SettingsPatch(whatsapp_templates=templates), CTX)
    assert caught.value.errors[0]["field"] == field


def test_the_fallback_wait_is_bounded() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"whatsapp_fallback_seconds": 0}, SettingsPatch)
    assert msgspec.convert({"whatsapp_fallback_seconds": 600}, SettingsPatch).whatsapp_fallback_seconds == 600


def test_a_number_without_a_route_takes_the_default_order_and_no_sender_id() -> None:
    route = resolve({"BR": Route(providers=["wavy"])}, ["message_central", "gatum"], "+34600100200", "ES")
    assert (route.providers, dict(route.sender_ids), route.key) == (["message_central", "gatum"], {}, "")


def test_the_longest_prefix_beats_a_shorter_one_and_the_country() -> None:
    routes = {
        "BR": Route(providers=["gatum"]),
        "+55": Route(providers=["message_central"]),
        "+5511": Route(providers=["wavy"], sender_ids={"wavy": "ACME"}),
    }
    route = resolve(routes, ["gatum"], "+5511987654321", "BR")
    assert (route.providers, dict(route.sender_ids), route.key) == (["wavy"], {"wavy": "ACME"}, "+5511")
    assert resolve(routes, ["gatum"], "+5521987654321", "BR").key == "+55"
