"""Third-party providers: discovered through the `otp_service.providers` entry points, refused by name when broken."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from otp_service.settings import ConfigErrors
from providers import SmsSender, discover
from providers.registry import ProviderLoadError, build_providers, load_vendor_settings
from tests.conftest import make_settings
from tests.third_party import example_installed, installed

NOT_A_SENDER = """
from providers import ProviderSpec, VendorSettings

class Settings(VendorSettings, frozen=True, kw_only=True):
    url: str = ""

class Lazy:
    name = "lazy_sms"
    def deliver(self, to, text):  # not the SmsSender protocol: no max_length, no async send
        return None

SPEC = ProviderSpec(name="lazy_sms", env_prefix="LAZY_SMS", settings_type=Settings,
                    build=lambda settings, client: Lazy(), is_configured=lambda settings: bool(settings.url))
"""


def test_the_example_package_is_discovered_with_its_settings(tmp_path: Path) -> None:
    with example_installed(tmp_path):
        specs = discover()
        assert "example_sms" in specs
        spec = specs["example_sms"]
        assert spec.origin == "entry point 'example_sms_provider:SPEC'"
        settings = load_vendor_settings(spec, {"EXAMPLE_SMS_URL": "https://sms.example.test/send"})
        built = build_providers(specs, {"example_sms": settings}, httpx.AsyncClient())
    assert isinstance(built.senders["example_sms"], SmsSender)
    assert "example_sms" not in discover()  # uninstalled: gone, nothing left behind


def test_a_package_that_fails_to_import_is_a_start_up_error_naming_it(tmp_path: Path) -> None:
    broken = {"broken_sms": "import a_module_that_is_not_installed\n"}
    with installed(tmp_path, broken, {"broken_sms": "broken_sms:SPEC"}, "broken-sms"):
        with pytest.raises(ProviderLoadError, match=r"'broken_sms'.*cannot be imported: ModuleNotFoundError"):
            discover()
        with pytest.raises(ConfigErrors) as info:
            make_settings()
    assert any("third-party provider 'broken_sms'" in error for error in info.value.errors)


def test_an_entry_point_naming_something_else_than_a_spec_is_refused(tmp_path: Path) -> None:
    module = {"odd_sms": "SPEC = {'name': 'odd_sms'}\n"}
    with (
        installed(tmp_path, module, {"odd_sms": "odd_sms:SPEC"}, "odd-sms"),
        pytest.raises(ProviderLoadError, match=r"'odd_sms'.*names a dict, not a providers\.ProviderSpec"),
    ):
        discover()


def test_a_third_party_provider_cannot_take_a_built_in_name(tmp_path: Path) -> None:
    module = {"fake_gatum": "from providers.gatum import SPEC\n"}
    with installed(tmp_path, module, {"gatum": "fake_gatum:SPEC"}, "fake-gatum"):
        problems: list[str] = []
        specs = discover(problems)
    assert specs["gatum"].origin == "built-in"
    assert problems == [
        "third-party provider 'gatum' (entry point 'fake_gatum:SPEC' in otp_service.providers): "
        "the name is taken by the built-in provider"
    ]


def test_an_adapter_of_the_wrong_protocol_is_a_start_up_error_naming_it(tmp_path: Path) -> None:
    with installed(tmp_path, {"lazy_sms": NOT_A_SENDER}, {"lazy_sms": "lazy_sms:SPEC"}, "lazy-sms"):
        assert "lazy_sms" in discover()  # importable and a ProviderSpec: the protocol shows only once built
        with pytest.raises(ConfigErrors) as info:
            make_settings(OTP_PROVIDERS="lazy_sms", LAZY_SMS_URL="https://lazy.test/")
    [error] = [e for e in info.value.errors if "lazy_sms" in e]
    assert error.startswith("provider 'lazy_sms' (entry point 'lazy_sms:SPEC'): build() returned a Lazy")
    assert "neither SmsSender" in error


FAILING_BUILD = """
from typing import ClassVar
from providers import ProviderSpec, VendorSettings

class Settings(VendorSettings, frozen=True, kw_only=True):
    secret_fields: ClassVar[frozenset[str]] = frozenset({"key"})
    key: str = ""

def build(settings, client):
    raise RuntimeError(f"cannot use key {settings.key}")

SPEC = ProviderSpec(name="picky_sms", env_prefix="PICKY_SMS", settings_type=Settings,
                    build=build, is_configured=lambda settings: bool(settings.key))
"""


def test_a_build_that_raises_is_a_start_up_error_without_the_secret(tmp_path: Path) -> None:
    with (
        installed(tmp_path, {"picky_sms": FAILING_BUILD}, {"picky_sms": "picky_sms:SPEC"}, "picky-sms"),
        pytest.raises(ConfigErrors) as info,
    ):
        make_settings(OTP_PROVIDERS="picky_sms", PICKY_SMS_KEY="sk-live-abcdefghijkl")
    [error] = [e for e in info.value.errors if "picky_sms" in e]
    assert error.startswith("provider 'picky_sms' (entry point 'picky_sms:SPEC'): build() failed: RuntimeError")
    assert "sk-live-abcdefghijkl" not in error
