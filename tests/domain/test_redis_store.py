"""The Redis plumbing (RedisStore): key layout across cluster slots, the deadline on each call."""

from __future__ import annotations

import asyncio
import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from otp_service.domain.errors import StoreUnavailable
from otp_service.domain.idempotency_store import IdempotencyStore
from otp_service.domain.redis_store import RedisStore, Scripts, lua_source
from otp_service.domain.settings_store import SettingsStore
from otp_service.domain.verification_store import CheckVerdict, VerificationStore
from otp_service.domain.windows import BeginOutcome, LimitWindows

from .stores import KEYS, OTHER_PHONE, PHONE, VID, begin, commit, finish, take

LUA = resources.files("otp_service.domain").joinpath("lua")
SCRIPT_NAMES = sorted(field.name for field in dataclasses.fields(Scripts))


# -- scripts --------------------------------------------------------------------------------------


def test_every_lua_file_is_a_registered_script_and_every_script_has_a_file() -> None:
    files = sorted(entry.name.removesuffix(".lua") for entry in LUA.iterdir() if entry.name.endswith(".lua"))
    assert files == SCRIPT_NAMES


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_every_script_opens_by_naming_its_keys_argv_and_returns(name: str) -> None:
    header = LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8").split("\n")[:8]
    assert header[0].startswith(f"-- {name}: ")
    for part in ("-- KEYS: ", "-- ARGV: ", "-- Returns: "):
        assert any(line.startswith(part) for line in header), (name, part)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
async def test_every_script_loads_into_redis_with_the_fragments_it_uses(redis: Redis, name: str) -> None:
    source = lua_source(name)
    own = LUA.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    assert source.endswith(own)
    uses = next((line for line in own.splitlines() if line.startswith("-- uses: ")), None)
    if uses is not None:  # the shared code comes first, in the order named
        named = [part.strip() for part in uses.removeprefix("-- uses: ").split(",")]
        shared = "".join(LUA.joinpath("shared", f"{part}.lua").read_text(encoding="utf-8") for part in named)
        assert source == shared + own
    registered = getattr(RedisStore(redis).scripts, name)
    assert await redis.script_load(source) == registered.sha  # compiles: Redis rejects a syntax error here
    assert await redis.script_exists(registered.sha) == [True]


def test_the_lua_files_ship_in_the_package() -> None:
    """An installed wheel holds only the data files pyproject.toml names; each .lua file must match."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["otp_service.domain"]
    root = Path(str(LUA)).parent
    lua_files = {path.relative_to(root).as_posix() for path in root.rglob("*.lua")}
    shipped = {path.relative_to(root).as_posix() for pattern in patterns for path in root.glob(pattern)}
    assert lua_files
    assert lua_files <= shipped


# -- cluster slots --------------------------------------------------------------------------------


async def test_every_key_of_one_phone_number_is_in_one_cluster_slot(
    store: VerificationStore, windows: LimitWindows, idempotency: IdempotencyStore, redis: Redis
) -> None:
    seen: set[str] = set()

    async def snapshot() -> None:
        seen.update(k.decode() for k in await redis.keys("*{+34600100200}*"))

    assert (await begin(windows, "t1")).outcome is BeginOutcome.OK
    await snapshot()  # the in-flight lock only lives between begin and commit
    await commit(store, redis, lock_token="t1", cooldown_ms=30_000)
    await snapshot()
    taken = await take(store, "c1")
    await finish(store, taken, CheckVerdict.WRONG, "c1")
    await idempotency.begin(PHONE, "digest", "fp", 60_000, token="i1")
    await commit(store, redis, vid="vf_second")
    await snapshot()

    await windows.abort_send(PHONE, "t2")
    await snapshot()

    parts = {k.split("}:", 1)[1] for k in seen}
    expected = {"cur", "sends", "fails", "cooldown", "sending", f"vf:{VID}", "vf:vf_second", "idem:digest"}
    assert parts == expected | {"tk:c1", "tk:t2"}  # the markers of a charge and of a release
    assert {key_slot(k.encode()) for k in seen} == {key_slot(PHONE.encode())}
    # Nothing about this number was written outside its hash tag.
    assert all("{+34600100200}" in k.decode() for k in await redis.keys("*34600100200*"))


async def test_index_and_window_keys_hash_by_their_own_tag() -> None:
    assert key_slot(KEYS.id(VID).encode()) == key_slot(VID.encode())
    assert key_slot(KEYS.id(VID).encode()) == key_slot(f"otp:{{{VID}}}:anything".encode())
    message = KEYS.message("gatum", "sent-42")
    assert key_slot(message.encode()) == key_slot(b"msg:gatum:sent-42")
    assert key_slot(KEYS.window("client", "web").encode()) == key_slot(b"client:web")
    assert key_slot(KEYS.window("ip", "203.0.113.7").encode()) == key_slot(b"ip:203.0.113.7")
    assert key_slot(KEYS.settings.encode()) == key_slot(KEYS.audit.encode())


def test_the_budgets_and_the_conversion_guard_share_one_slot() -> None:
    """One script admits a send: it charges the budgets and has the guard judge it (``fraud_admit``)."""
    keys = [
        KEYS.budget("country_limits.GB.per_hour"),
        KEYS.budget("app:web:sms_budget.per_day"),
        KEYS.budget_token("t1"),
        KEYS.budget_index,
        KEYS.guard_base("p", "+44740012") + ":s:123",
        KEYS.guard_base("c", "GB") + ":l:45",
        KEYS.guard_hold("+44740012"),
        KEYS.guard_index("p"),
        KEYS.guard_index("held"),
    ]
    assert {key_slot(key.encode()) for key in keys} == {key_slot(b"fraud")}


async def test_record_keys_share_the_phone_numbers_slot() -> None:
    for phone in (PHONE, OTHER_PHONE, "+16502530000"):
        tag_slot = key_slot(phone.encode())
        assert key_slot(KEYS.record(phone, VID).encode()) == tag_slot
        assert key_slot(KEYS.record(phone, "vf_zzzzzzzzzzzzzz").encode()) == tag_slot
        assert key_slot(KEYS.current(phone).encode()) == tag_slot


class SlowToCleanUp:
    """A Redis client whose GET never answers and, once cancelled, takes a while to close its
    connections (what redis-py's cluster client does after a failed topology read)."""

    def __init__(self, redis: Redis, cleanup_s: float) -> None:
        self.redis = redis
        self.cleanup_s = cleanup_s
        self.cleaned_up = asyncio.Event()

    def register_script(self, source: str) -> Any:
        return self.redis.register_script(source)

    async def get(self, key: str) -> bytes | None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(self.cleanup_s)
            self.cleaned_up.set()
            raise
        return None


async def test_a_store_call_gives_up_at_its_deadline_even_if_the_client_cleans_up_slowly(redis: Redis) -> None:
    client = SlowToCleanUp(redis, cleanup_s=1.0)
    settings_store = SettingsStore(RedisStore(client, deadline_s=0.2))  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    with pytest.raises(StoreUnavailable):
        await settings_store.load()
    assert asyncio.get_running_loop().time() - started < 0.6  # not 0.2 + the 1 s clean-up
    assert not client.cleaned_up.is_set()
    await asyncio.wait_for(client.cleaned_up.wait(), 5)  # ... which still ran, in the background


async def test_a_store_call_that_answers_in_time_returns_its_answer_under_a_deadline(redis: Redis) -> None:
    settings_store = SettingsStore(RedisStore(redis, deadline_s=1.0))
    await redis.set(KEYS.settings, b'{"version": 3}')
    assert await settings_store.load() == b'{"version": 3}'
